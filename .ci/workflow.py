"""Validates .github/workflows/*.yml: YAML that parses, and the shape GitHub Actions needs
(triggers, jobs with runs-on and steps, each step a `uses` or a `run`, `needs` naming jobs that
exist, matrix entries that are lists). It cannot run the workflow; it catches what would stop
GitHub from starting it."""
import pathlib
import sys

import yaml

root = pathlib.Path(__file__).resolve().parent.parent
files = sorted((root / ".github" / "workflows").glob("*.yml"))
if not files:
    sys.exit("no workflow under .github/workflows")
for path in files:
    doc = yaml.safe_load(path.read_text())
    name = path.relative_to(root)
    # YAML 1.1 reads the key `on` as True.
    triggers = doc.get("on", doc.get(True))
    assert triggers, f"{name}: no `on` triggers"
    jobs = doc.get("jobs")
    assert isinstance(jobs, dict) and jobs, f"{name}: no jobs"
    for job, spec in jobs.items():
        assert "runs-on" in spec, f"{name}: job {job} has no runs-on"
        steps = spec.get("steps")
        assert isinstance(steps, list) and steps, f"{name}: job {job} has no steps"
        for i, step in enumerate(steps):
            assert ("uses" in step) != ("run" in step), f"{name}: {job} step {i + 1} needs one of uses/run"
        needs = spec.get("needs", [])
        for n in [needs] if isinstance(needs, str) else needs:
            assert n in jobs, f"{name}: job {job} needs unknown job {n}"
        matrix = spec.get("strategy", {}).get("matrix", {})
        for k, v in matrix.items():
            assert isinstance(v, list) and v, f"{name}: {job} matrix {k} is not a list"
    print(f"{name}: {len(jobs)} jobs ({', '.join(jobs)}), valid")

# The deep loom jobs cover every family tests/loom.rs checks, and no other.
import re

families = set(re.findall(r'check_family\("(\w+)"\)', (root / "tests" / "loom.rs").read_text()))
for path in files:
    doc = yaml.safe_load(path.read_text())
    loom = doc["jobs"].get("loom")
    if loom:
        listed = set(loom["strategy"]["matrix"]["family"])
        assert listed == families, f"{path.name}: loom families {sorted(listed)} != tests/loom.rs {sorted(families)}"
        print(f"{path.name}: the loom jobs cover the {len(families)} families of tests/loom.rs")
