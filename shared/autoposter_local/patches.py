"""Two things AWS does that moto 5.2.5 leaves out, taught to it for the local cloud (and only there).

* Step Functions and EventBridge requests are authorised against the ARN they name (moto checks
  resource ``*``), so ARN-scoped grants such as the template's ``StepFunctionsExecutionPolicy`` or
  ``events:PutEvents`` on the application's bus are evaluated as on AWS.
* A Distributed Map starts and watches its children with the state machine role's permissions
  (``states:StartExecution`` on the state machine, ``states:DescribeExecution`` and
  ``states:StopExecution`` on its executions); moto runs children without asking. Here a Map
  Run whose role lacks one of them fails, as on AWS, with a cause that names AccessDenied.
"""
from __future__ import annotations

import json

_STATE = {"may": None, "state_machine_arn": ""}


def scope_step_functions_requests() -> None:
    from moto.stepfunctions.responses import StepFunctionResponse

    def _determine_resource(self) -> str:
        try:
            body = json.loads(self.body or "{}")
        except ValueError:
            return "*"
        return body.get("stateMachineArn") or body.get("executionArn") or "*"

    StepFunctionResponse._determine_resource = _determine_resource

    from moto.events.responses import EventsHandler

    def _events_resource(self) -> str:
        try:
            body = json.loads(self.body or "{}")
        except ValueError:
            return "*"
        entries = body.get("Entries") or [{}]
        bus = entries[0].get("EventBusName") or body.get("EventBusName") or "default"
        if bus.startswith("arn:"):
            return bus
        return f"arn:aws:events:{self.region}:{self.current_account}:event-bus/{bus}"

    EventsHandler._determine_resource = _events_resource


def check_map_runs(may, state_machine_arn: str) -> None:
    """Distributed Map runs ask ``may("states", action, resource)`` before starting their children."""
    from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (FailureEvent,
                                                                                         FailureEventException)
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as dic)
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    _STATE.update(may=may, state_machine_arn=state_machine_arn)
    cls = dic.DistributedIterationComponent
    if not hasattr(cls, "_autoposter_original"):
        cls._autoposter_original = cls._map_run

    def _map_run(self, env, eval_input):
        sm = _STATE["state_machine_arn"]
        execution = sm.replace(":stateMachine:", ":execution:") + "/child"
        for action, resource in (("states:StartExecution", sm), ("states:DescribeExecution", execution),
                                 ("states:StopExecution", execution)):
            if _STATE["may"] and not _STATE["may"]("states", action, resource):
                cause = f"AccessDenied: the state machine's role is not authorized to perform {action} on {resource}"
                raise FailureEventException(failure_event=FailureEvent(
                    env=env, error_name=CustomErrorName("AccessDeniedException"),
                    event_type=HistoryEventType.ExecutionFailed,
                    event_details=EventDetails(executionFailedEventDetails=ExecutionFailedEventDetails(
                        error="AccessDeniedException", cause=cause))))
        return cls._autoposter_original(self, env, eval_input)

    cls._map_run = _map_run
