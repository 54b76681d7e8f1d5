"""Mark flow runs Crashed when their process dies without saying so (`kill -9` of the serve
process and its children, a machine lost): `make run` runs this once against its server.

Deployment runs send a heartbeat every `PREFECT_FLOWS_HEARTBEAT_FREQUENCY` seconds (30, set
by `make run`); this automation changes a run to Crashed when neither a heartbeat nor a final
state follows within `SILENCE` — the self-hosted recipe from Prefect's "detect zombie flows"
guide. A killed run's checkpoint stays; running the deployment again resumes from it.

    PREFECT_API_URL=http://127.0.0.1:4200/api python -m flows.zombies
"""

from __future__ import annotations

from datetime import timedelta

NAME = "gan-pipeline: crash unresponsive flow runs"
HEARTBEAT_SECONDS = 30
SILENCE = timedelta(seconds=3 * HEARTBEAT_SECONDS)


def ensure_crash_automation() -> bool:
    """Create the automation unless one of that name exists; True when it was created."""
    from prefect.automations import Automation
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    with get_client(sync_client=True) as client:
        if client.read_automations_by_name(name=NAME):
            return False
    Automation(
        name=NAME,
        description="A flow run that stops sending heartbeats without reaching a final state is marked Crashed.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=SILENCE,
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED, message=f"no heartbeat for {SILENCE.seconds} s: the flow-run process is gone"
            )
        ],
    ).create()
    return True


if __name__ == "__main__":
    print("created" if ensure_crash_automation() else "exists", NAME)
