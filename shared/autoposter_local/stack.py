"""What the local cloud reads from template.yaml: the functions, their environment, the state machine's wiring.

Nothing is typed twice: function folders come from each function's ``CodeUri``, the ARNs the
state machine names from its ``DefinitionSubstitutions``, the environment from ``Globals`` and
each function's own ``Environment`` with parameters at their defaults.
"""
from __future__ import annotations

from pathlib import Path


def _template(path: Path) -> dict:
    from cfnlint.decode import decode

    tpl, errors = decode(str(path))
    if errors:
        raise ValueError(f"{path}: {errors[0]}")
    return tpl


def functions(path: Path) -> dict[str, str]:
    """``{resource name: function folder}`` of every function."""
    tpl = _template(path)
    return {name: Path(r["Properties"]["CodeUri"]).name for name, r in tpl["Resources"].items()
            if r["Type"] == "AWS::Serverless::Function"}


def substitutions(path: Path) -> dict[str, str]:
    """``{substitution variable: value}`` of the state machine: function folders for ARNs, parameters' defaults."""
    tpl = _template(path)
    folders = functions(path)
    params = {k: str(v.get("Default", "")) for k, v in tpl.get("Parameters", {}).items()}
    sm = next(r for r in tpl["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine")
    out = {}
    for var, v in sm["Properties"].get("DefinitionSubstitutions", {}).items():
        if isinstance(v, dict) and "Fn::GetAtt" in v:
            target = v["Fn::GetAtt"]
            out[var] = "function:" + folders[target[0] if isinstance(target, list) else target.split(".")[0]]
        elif isinstance(v, dict) and "Ref" in v and v["Ref"] in params:
            out[var] = params[v["Ref"]]
    return out


def environment(path: Path, folder: str | None = None) -> dict:
    """The functions' environment, parameters at their defaults (a function's own variables when ``folder``
    is given). Bucket names, ARNs and URLs are the local stack's; the model folder is the checkout's."""
    tpl = _template(path)
    params = {k: str(v.get("Default", "")) for k, v in tpl.get("Parameters", {}).items()}
    out = {}
    blocks = [tpl["Globals"]["Function"]["Environment"]["Variables"]]
    if folder:
        for r in tpl["Resources"].values():
            if r["Type"] == "AWS::Serverless::Function" and Path(r["Properties"]["CodeUri"]).name == folder:
                blocks.append(r["Properties"].get("Environment", {}).get("Variables", {}))
    for block in blocks:
        for k, v in block.items():
            if isinstance(v, dict) and set(v) == {"Ref"} and v["Ref"] in params:
                out[k] = params[v["Ref"]]
            elif isinstance(v, (str, int, float)) and k != "AUTOPOSTER_MODEL_DIR":
                out[k] = str(v)
    return out


def parameters(path: Path) -> dict[str, str]:
    return {k: str(v.get("Default", "")) for k, v in _template(path).get("Parameters", {}).items()}
