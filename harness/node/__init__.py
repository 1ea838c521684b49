"""The node-side package, playbooks/module_utils/harness_node (see its own docstring): this
package's path is that directory, where Ansible's modules import it too, so the harness and the
playbooks run one source and no file is copied or linked between them."""

from pathlib import Path

from harness import paths

WITHIN_PLAYBOOKS = Path("module_utils", "harness_node")
DIRECTORY = paths.shipped("playbooks") / WITHIN_PLAYBOOKS
__path__ = [str(DIRECTORY)]
