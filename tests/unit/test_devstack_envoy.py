"""The rendered Envoy config: placeholders filled, and accepted by Envoy with the project's descriptor."""

import subprocess

from jangar.server.devstack.envoy import default_descriptor_path, envoy_binary, render_config


def _render(tmp_path):
    return render_config(
        listen_port=18080,
        admin_port=19901,
        upstream_port=15051,
        descriptor_path=default_descriptor_path(),
        access_log_path=tmp_path / "access.log",
    )


def test_render_config_fills_every_placeholder(tmp_path):
    config = _render(tmp_path)
    assert "${" not in config
    assert "port_value: 18080" in config
    assert "port_value: 19901" in config
    assert "port_value: 15051" in config
    assert str(default_descriptor_path()) in config
    # The Lua pattern keeps its literal dollar sign.
    assert '"^[1-5]%d%d$"' in config


def test_envoy_accepts_the_rendered_config(tmp_path):
    config_path = tmp_path / "envoy.yaml"
    config_path.write_text(_render(tmp_path))
    result = subprocess.run(
        [str(envoy_binary()), "--mode", "validate", "--log-level", "error", "-c", str(config_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
