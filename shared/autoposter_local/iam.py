"""The IAM policies CloudFormation would create from template.yaml, per function and for the state machine.

``template.yaml`` is translated by the SAM translator (the code CloudFormation's
``AWS::Serverless`` transform runs), so SAM policy templates such as ``S3ReadPolicy``
expand exactly as on AWS; the intrinsic functions left in the policies (``!Sub``,
``!Ref``, ``!GetAtt``) are resolved for the local stack's names.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path

REGION, ACCOUNT, PARTITION = "us-east-1", "123456789012", "aws"
STACK = "autoposter"
URI_KEYS = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri",
            "AWS::Serverless::StateMachine": "DefinitionUri"}


class Resolver:
    """Resolves Ref / Fn::Sub / Fn::GetAtt / Fn::Join against the local stack's physical names."""

    def __init__(self, template: dict, parameters: dict, function_names: dict):
        self.t = template
        self.params = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
        self.params.update({k: str(v) for k, v in parameters.items()})
        self.pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": PARTITION,
                       "AWS::StackName": STACK, "AWS::URLSuffix": "amazonaws.com"}
        self.function_names = function_names

    def ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            return self.params[name]
        res = self.t["Resources"][name]
        kind, props = res["Type"], res.get("Properties", {})
        if kind == "AWS::S3::Bucket":
            return self.resolve(props["BucketName"])
        if kind == "AWS::Lambda::Function":
            return self.function_names[name]
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
        if kind == "AWS::StepFunctions::StateMachine":
            return f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:{self.resolve(props['StateMachineName'])}"
        if kind in ("AWS::Events::EventBus", "AWS::Logs::LogGroup"):
            return self.resolve(props.get("Name") or props.get("LogGroupName"))
        return name

    def getatt(self, name: str, attr: str) -> str:
        res = self.t["Resources"][name]
        kind = res["Type"]
        if kind == "AWS::Lambda::Function" and attr == "Arn":
            return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{self.function_names[name]}"
        if kind == "AWS::SQS::Queue":
            return {"Arn": f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}", "QueueName": name}[attr]
        if kind == "AWS::S3::Bucket" and attr == "Arn":
            return f"arn:{PARTITION}:s3:::{self.ref(name)}"
        if kind == "AWS::Logs::LogGroup" and attr == "Arn":
            return f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{self.ref(name)}:*"
        if kind == "AWS::Events::EventBus" and attr == "Arn":
            return f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:event-bus/{self.ref(name)}"
        if kind == "AWS::IAM::Role" and attr == "Arn":
            return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}"
        raise KeyError(f"cannot resolve Fn::GetAtt {name}.{attr}")

    def sub(self, text: str, extra: dict) -> str:
        import re

        def one(m):
            key = m.group(1)
            if key in extra:
                return str(self.resolve(extra[key]))
            if "." in key:
                return self.getatt(*key.split(".", 1))
            return self.ref(key)
        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def resolve(self, v):
        if isinstance(v, list):
            return [self.resolve(x) for x in v]
        if not isinstance(v, dict):
            return v
        if len(v) == 1:
            (k, arg), = v.items()
            if k == "Ref":
                return self.ref(arg)
            if k == "Fn::GetAtt":
                name, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.getatt(name, attr)
            if k == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                return self.sub(text, extra)
            if k == "Fn::Join":
                return arg[0].join(str(self.resolve(x)) for x in arg[1])
        return {k: self.resolve(x) for k, x in v.items()}


def translate(template_path: Path) -> dict:
    """template.yaml through the SAM transform, as CloudFormation sees it (code URIs as `sam package` writes them)."""
    from cfnlint.decode import decode
    from samtranslator.translator.transform import transform

    tpl, errors = decode(str(template_path))
    if errors:
        raise ValueError(f"{template_path}: {errors[0]}")
    tpl = copy.deepcopy(tpl)
    for res in tpl["Resources"].values():
        key = URI_KEYS.get(res["Type"])
        if key and key in res.get("Properties", {}):
            res["Properties"][key] = f"s3://artifacts/{res['Properties'][key]}"

    class NoManagedPolicies:        # the template names no managed policy to look up
        def load(self):
            return {}

    saved = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = REGION
    try:
        return transform(tpl, {}, NoManagedPolicies())
    finally:
        if saved is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = saved


def principal_policies(template_path: Path, parameters: dict | None = None) -> dict[str, list[dict]]:
    """``{function folder, "states" or "s3": [policy documents]}`` — each role's inline policies, resolved,
    and S3's permission to invoke functions (their resource-based policies) as the principal ``"s3"``.

    Managed policies SAM attaches (basic execution logging, X-Ray) grant no data access and
    are left out; every S3 and Step Functions permission comes from the inline policies.
    """
    cfn = translate(template_path)
    res = cfn["Resources"]
    fn_names = {name: Path(r["Properties"]["Code"]["S3Key"]).name
                for name, r in res.items() if r["Type"] == "AWS::Lambda::Function"}
    resolver = Resolver(cfn, parameters or {}, fn_names)
    # S3's right to invoke the door: the functions' resource-based policies (AWS::Lambda::Permission), one
    # statement per service principal and function, as the principal "s3"
    granted = sorted({resolver.getatt(r["Properties"]["FunctionName"]["Ref"], "Arn") for r in res.values()
                      if r["Type"] == "AWS::Lambda::Permission" and r["Properties"].get("Principal") == "s3.amazonaws.com"
                      and r["Properties"].get("Action") == "lambda:InvokeFunction"})
    out = {"s3": [{"Statement": [{"Sid": "S3NotificationInvokes", "Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                                  "Resource": granted}]}]} if granted else {}
    for name, r in res.items():
        if r["Type"] == "AWS::Lambda::Function":
            who = fn_names[name]
        elif r["Type"] == "AWS::StepFunctions::StateMachine":
            who = "states"
        else:
            continue
        role_ref = r["Properties"].get("Role") or r["Properties"].get("RoleArn")
        role = res[role_ref["Fn::GetAtt"][0]]
        out[who] = [resolver.resolve(p["PolicyDocument"]) for p in role["Properties"].get("Policies", [])]
    return out


# What the local cloud cannot exercise, and why (said in the README; the mutation test skips them):
# CloudWatch Logs delivery and X-Ray are not emulated; moto 5.2.5 has no RedriveExecution.
UNEXERCISED = {("states", "DeliverLogs"): "log delivery is not emulated",
               ("states", "RedriveMapRuns"): "moto 5.2.5 does not implement RedriveExecution"}


def statements(policies: dict[str, list[dict]]) -> list[tuple[str, int, int]]:
    """(principal, policy index, statement index) of every statement of every role and of S3's invoke right,
    but those the local cloud cannot exercise (``UNEXERCISED``) and X-Ray's."""
    out = []
    for who, docs in policies.items():
        for pi, doc in enumerate(docs):
            for si, st in enumerate(doc["Statement"]):
                acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                if (who, st.get("Sid")) in UNEXERCISED or all(a.startswith("xray:") for a in acts):
                    continue
                out.append((who, pi, si))
    return out
