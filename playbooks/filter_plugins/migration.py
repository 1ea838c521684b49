"""Filters for the migration playbooks: comparisons that Jinja alone would make unreadable."""

from __future__ import annotations


def images_not_in_cri(record: list[dict], cri_images: list[dict]) -> list[str]:
    """Every ref of `record` (what the copy recorded: refs and Docker's image ID) that CRI does
    not list with the same ID (the config digest), as `ref: expected ID, CRI has X`."""
    by_ref = {}
    for image in cri_images:
        for ref in [*(image.get("repoTags") or []), *(image.get("repoDigests") or [])]:
            by_ref[ref] = image["id"]
            by_ref[ref.removeprefix("docker.io/library/").removeprefix("docker.io/")] = image["id"]
    problems = []
    for image in record:
        for ref in image["refs"]:
            found = by_ref.get(ref)
            if found != image["id"]:
                problems.append(f"{ref}: expected {image['id']}, CRI has {found or 'nothing'}")
    return problems


def failure_cause(result: dict) -> str:
    """Why a task failed, in the words of what failed: a module's message; for a command, whose
    message ("non-zero return code") says nothing, its last line on stderr; for a loop, its
    first failed item's."""
    failed_items = [item for item in result.get("results") or [] if item.get("failed")]
    if failed_items:
        return failure_cause(failed_items[0])
    stderr = (result.get("stderr") or "").strip().splitlines()
    if stderr and result.get("msg", "non-zero return code") == "non-zero return code":
        return stderr[-1]
    return result.get("msg") or "failed"


class FilterModule:
    def filters(self):
        return {"images_not_in_cri": images_not_in_cri, "failure_cause": failure_cause}
