"""The template renderer: schema-checked paths, defaults for unset fields, errors for what names nothing,
and no way to execute anything."""

from __future__ import annotations

import pytest

from jangar.server.core.templates import Root, TemplateError, placeholders, render
from tests import builders


@pytest.fixture
def context():
    agent = builders.agent(name="coder", namespace="team")
    run = builders.agent_run("coder", "team", name="run-1")
    run.id = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    run.spec.parameters["depth"] = "2"
    return {"run": Root(run), "agent": Root(agent), "parameters": Root(run.spec.parameters)}


@pytest.mark.parametrize(
    ("template", "rendered"),
    [
        ("{{run.name}}/{{run.namespace}}", "run-1/team"),
        ("{{ run.id }}", "1b4e28ba-2fa1-11d2-883f-0016d3cca427"),
        ("model={{agent.config.model}} t={{agent.config.temperature}}", "model=gpt-5 t=0.2"),
        ("{{agent.spec.config.model}}", "gpt-5"),
        ("{{agent.defaults.timeoutSeconds}} {{agent.defaults.timeout_seconds}}", "600 600"),
        ("depth {{parameters.depth}}", "depth 2"),
        ("[{{run.goal.objective}}]", "[fix the flaky test]"),
        ("[{{run.memoryRef.name}}]", "[]"),  # unset: the field's default
        ("{{run.status.phase}}", "RUN_PHASE_UNSPECIFIED"),
        ("no placeholders at all", "no placeholders at all"),
    ],
)
def test_paths_render_from_the_schema(context, template, rendered):
    assert render(template, context) == rendered


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{{run.gaol.objective}}", "names no field"),
        ("{{parameters.missing}}", "no key 'missing'"),
        ("{{agent.config.nope}}", "no key 'nope'"),
        ("{{secrets.token}}", "no root 'secrets'"),
        ("{{agent.config}}", "is an object"),
        ("{{agent.env}}", "is a list"),
        ("{{run.labels}}", "is a map"),
        ("{{run.name.first}}", "is a value and has no fields"),
        ("{{ __import__('os').system('id') }}", "is not a placeholder"),
        ("{{run.name}} }}", "unbalanced"),
        ("{{run.name", "unbalanced"),
    ],
)
def test_what_names_nothing_is_an_error_not_an_empty_string(context, template, problem):
    with pytest.raises(TemplateError, match=problem):
        render(template, context)


def test_placeholders_lists_the_paths():
    assert placeholders("a {{run.id}} b {{ parameters.x }}") == ["run.id", "parameters.x"]
