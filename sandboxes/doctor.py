"""`agent sandbox doctor`: check the engine and the image, then measure the isolation a container
made like a real sandbox really gets, from inside it.
"""

from __future__ import annotations

import docker.errors
from pydantic import BaseModel

from agent.core.config import SandboxConfig
from agent.core.errors import SandboxError
from sandboxes.docker_sandbox import container_options
from sandboxes.engine import docker_client, require_image

PROBE_SCRIPT = r"""
if python3 -c "import socket; socket.create_connection(('1.1.1.1', 53), 2)" >/dev/null 2>&1; then
  echo "network=open"
else
  echo "network=blocked"
fi
echo "uid=$(id -u)"
mem=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null)
echo "memory_limit=${mem:-unknown}"
pids=$(cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max 2>/dev/null)
echo "pids_limit=${pids:-unknown}"
echo "cap_eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)"
echo "no_new_privs=$(awk '/^NoNewPrivs:/ {print $2}' /proc/self/status)"
if touch /usr/.agent-probe 2>/dev/null; then echo "system_writable=yes"; else echo "system_writable=no"; fi
"""


class DoctorReport(BaseModel):
    """What `agent sandbox doctor` found; the isolation values are measured inside a container."""

    engine: str
    image: str
    image_present: bool
    network: str
    uid: str
    memory_limit: str
    pids_limit: str
    cap_eff: str
    no_new_privs: str
    system_writable: str

    @property
    def isolated(self) -> bool:
        return (
            self.network == "blocked"
            and self.uid != "0"
            and int(self.cap_eff or "0", 16) == 0
            and self.no_new_privs == "1"
            and self.system_writable == "no"
        )


def doctor(config: SandboxConfig) -> DoctorReport:
    """Check the engine and image, then probe a live container made like a real sandbox."""
    client = docker_client()
    try:
        require_image(client, config.image)
        version = client.version().get("Version", "unknown")
        options = container_options(config, "doctor")
        options["command"] = ["sh", "-c", PROBE_SCRIPT]
        options["detach"] = True
        container = client.containers.run(**options)
        try:
            status = container.wait(timeout=60)
            output = container.logs().decode(errors="replace")
        finally:
            container.remove(force=True)
    except docker.errors.APIError as exc:
        raise SandboxError(f"the doctor's probe container failed: {exc.explanation}") from None
    finally:
        client.close()
    if status.get("StatusCode") != 0:
        raise SandboxError(f"the probe exited with {status.get('StatusCode')}: {output[-300:]}")
    values = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    return DoctorReport(
        engine=str(version), image=config.image, image_present=True, **{k: v.strip() for k, v in values.items()}
    )
