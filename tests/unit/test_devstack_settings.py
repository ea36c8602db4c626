"""jangar-dev settings from the environment."""

from pathlib import Path

import pytest

from jangar.server.devstack.__main__ import ConfigError, StackSettings, _redact
from jangar.server.devstack.envoy import PROJECT_ROOT


def test_defaults():
    settings = StackSettings.from_env({})
    assert settings.database_url is None
    assert (settings.pg_port, settings.grpc_port, settings.http_port, settings.envoy_admin_port) == (
        55432,
        50051,
        8080,
        9901,
    )
    assert settings.state_dir == PROJECT_ROOT / ".jangar"
    assert settings.log("server") == PROJECT_ROOT / ".jangar" / "logs" / "server.log"


def test_overrides(tmp_path):
    settings = StackSettings.from_env(
        {
            "JANGAR_DATABASE_URL": "postgresql://u@h/db",
            "JANGAR_HTTP_PORT": "18080",
            "JANGAR_STATE_DIR": str(tmp_path),
        }
    )
    assert settings.database_url == "postgresql://u@h/db"
    assert settings.http_port == 18080
    assert settings.state_dir == Path(tmp_path).resolve()


@pytest.mark.parametrize("value", ["http", "0", "70000"])
def test_bad_port_is_rejected(value):
    with pytest.raises(ConfigError, match="JANGAR_GRPC_PORT"):
        StackSettings.from_env({"JANGAR_GRPC_PORT": value})


def test_printed_url_hides_the_password():
    assert _redact("postgresql+asyncpg://u:secret@127.0.0.1:5432/jangar") == (
        "postgresql+asyncpg://u:***@127.0.0.1:5432/jangar"
    )
