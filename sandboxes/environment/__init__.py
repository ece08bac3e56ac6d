"""Each repository's environment: its declared dependencies in an image layered on the sandbox image.

`detect` reads what the repository declares at a commit (`requirement_lines`: pip files and tox's
deps; `poetry`: poetry's tables); `wheelhouse` resolves and downloads it on the host, with what
the build backend asks for (`backend`, which also gives VCS-versioned builds the commit's version);
`build` installs it into an image with no network, keeping the files the install generates for the
sandboxes (`generated`); `provision.Environments` keys, caches and reuses those images; `catalog`
lists and prunes them.
"""

from sandboxes.environment.catalog import EnvironmentImage, environment_images, prune_environments
from sandboxes.environment.detect import Needs, detect_needs
from sandboxes.environment.provision import Environments, Prepared

__all__ = [
    "EnvironmentImage",
    "Environments",
    "Needs",
    "Prepared",
    "detect_needs",
    "environment_images",
    "prune_environments",
]
