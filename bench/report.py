"""Summaries and tables of the sync benchmark: medians, ratios to naive, targets, memory."""

import statistics

COMPARED = ("compiled", "pure")
NOOP_TARGET = 2.0  # the no-op resync must be at least this many times faster than naive
FLOOR_TARGET = 2.0  # issue 16: no-op and first sync within this many times the C floor


def summarise(sizes: list) -> dict:
    """Medians per step, tree agreement, ratios, the targets and memory growth."""
    per_size = [_summarise_size(size) for size in sizes]
    problems = [problem for size in per_size for problem in size.pop("problems")]
    return {"sizes": per_size, "targets": _targets(per_size[-1]),
            "memory": _memory(sizes, per_size) if len(sizes) > 1 else None,
            "problems": problems}


def _summarise_size(size: dict) -> dict:
    n, records = size["n"], size["records"]
    steps = _medians(records)
    trees = {}
    for record in records:
        if record["variant"] in ("floor", "floor-atomic"):
            continue  # its own text, videos only: not the same tree by design
        trees.setdefault(record["step"], set()).add(
            record["tree"]["sha256"] if record["tree"] else None)
    problems = [f"N={n} {r['variant']} {r['step']} (round {r['round']}): {problem}"
                for r in records for problem in r["problems"]]
    problems += [f"N={n} {step}: target trees differ between variants or rounds"
                 for step, digests in trees.items() if len(digests) > 1]
    return {"n": n, "steps": steps, "ratios": _ratios(steps),
            "floor_ratios": _ratios(steps, "floor"),
            "atomic_floor_ratios": _ratios(steps, "floor-atomic"),
            "trees_identical": {step: len(digests) == 1 for step, digests in trees.items()},
            "problems": problems}


def _medians(records: list) -> list:
    grouped: dict = {}
    for record in records:
        grouped.setdefault((record["variant"], record["step"]), []).append(record)
    out = []
    for (variant, step), group in grouped.items():
        reported = [r["reported_s"] for r in group if r["reported_s"] is not None]
        out.append({"variant": variant, "step": step, "build": group[0]["build"],
                    "rounds": len(group),
                    "wall_s": round(statistics.median(r["wall_s"] for r in group), 3),
                    "reported_s": round(statistics.median(reported), 3) if reported else None,
                    "peak_rss_kb": int(statistics.median(r["peak_rss_kb"] for r in group)),
                    "status": ",".join(sorted({str(r["status"]) for r in group})),
                    "counts_ok": not any(r["problems"] for r in group),
                    "manifest": next((r["manifest"] for r in group if r.get("manifest")), None)})
    return out


def _lookup(steps: list, variant: str, step: str) -> dict | None:
    return next((s for s in steps if s["variant"] == variant and s["step"] == step), None)


def _ratios(steps: list, against: str = "naive") -> dict:
    """Wall time of each strmsync variant divided by naive's (or the floor's), per step."""
    ratios: dict = {}
    for variant in COMPARED:
        for step in ("first", "noop", "change"):
            mine, naive = _lookup(steps, variant, step), _lookup(steps, against, step)
            if mine and naive and mine["wall_s"]:
                ratios.setdefault(variant, {})[step] = round(mine["wall_s"] / naive["wall_s"], 3)
    return ratios


def _targets(size: dict) -> dict:
    """The issue's targets for the compiled build at the largest N."""
    ratios = size["ratios"].get("compiled")
    floor = size["floor_ratios"].get("compiled")
    if not ratios and not floor:
        return {"n": size["n"], "measured": False,
                "why": "compiled build (or both naive and floor) not run: targets not measured"}
    out = {"n": size["n"], "measured": True}
    if ratios:
        noop_speedup, first_speedup = 1 / ratios["noop"], 1 / ratios["first"]
        out.update(noop_speedup=round(noop_speedup, 2), noop_ok=noop_speedup >= NOOP_TARGET,
                   first_speedup=round(first_speedup, 2), first_ok=first_speedup > 1)
    if floor:
        out.update(noop_floor=floor["noop"], noop_floor_ok=floor["noop"] <= FLOOR_TARGET,
                   first_floor=floor["first"], first_floor_ok=floor["first"] <= FLOOR_TARGET)
    return out


def _memory(sizes: list, per_size: list) -> dict:
    """Peak RSS (max over steps) at the smallest and largest N, and the manifest's share."""
    small, large = per_size[0], per_size[-1]
    out = {"n_small": small["n"], "n_large": large["n"],
           "videos_small": sizes[0]["library"]["videos"],
           "videos_large": sizes[-1]["library"]["videos"], "variants": {}}
    for variant in ("compiled", "pure", "naive"):
        peaks = [_peak(size["steps"], variant) for size in (small, large)]
        if None in peaks:
            continue
        manifests = [_manifest_kb(size["steps"], variant) for size in (small, large)]
        entry = {"peak_small_kb": peaks[0], "peak_large_kb": peaks[1],
                 "growth_kb": peaks[1] - peaks[0]}
        if None not in manifests:
            entry.update(manifest_small_kb=manifests[0], manifest_large_kb=manifests[1],
                         manifest_growth_kb=manifests[1] - manifests[0],
                         beyond_manifest_kb=entry["growth_kb"] - (manifests[1] - manifests[0]))
        out["variants"][variant] = entry
    return out


def _peak(steps: list, variant: str) -> int | None:
    peaks = [s["peak_rss_kb"] for s in steps if s["variant"] == variant]
    return max(peaks) if peaks else None


def _manifest_kb(steps: list, variant: str) -> int | None:
    probes = [s["manifest"] for s in steps if s["variant"] == variant and s["manifest"]]
    return probes[0]["manifest_kb"] if probes else None


# rendering -----------------------------------------------------------------------------------


def render(results: dict) -> str:
    """The whole report as text."""
    env, summary = results["environment"], results["summary"]
    lines = [f"strmsync local sync benchmark — {env['date']}, commit {env['commit'][:10]}"
             f"{' (+ uncommitted changes)' if env['tracked_changes'] else ''}",
             f"python {env['python_version']} on {env['platform']}, {env['cpus']} CPUs;"
             f" work dir {env['workdir']} ({env['filesystem']})",
             f"concurrency {env['concurrency']}; {env['repeat']} round(s), medians shown;"
             f" cache {env['cache']}"]
    for variant, build in env["builds"].items():
        if not build["build"]:
            lines.append(f"!! {variant}: not run — {build['detail']}")
    for size, facts in zip(results["sizes"], summary["sizes"], strict=True):
        lines += [""] + _size_lines(size, facts)
    lines += [""] + _target_lines(summary["targets"])
    if summary["memory"]:
        lines += [""] + _memory_lines(summary["memory"])
    lines += ["", "problems:" if summary["problems"] else "problems: none (counts as expected,"
              " statuses succeeded, target trees identical)"]
    lines += [f"  - {problem}" for problem in summary["problems"]]
    return "\n".join(lines)


def _size_lines(size: dict, facts: dict) -> list:
    lib, change = size["library"], size["change"]
    lines = [f"N = {size['n']:,} videos: {lib['files']:,} source files ({lib['meta_files']:,}"
             f" metadata, {lib['other_files']:,} ignored) in {lib['folders']:,} media folders",
             f"1% change: {change['videos_renamed']:,} videos renamed"
             f" (+{change['sidecars_renamed']:,} sidecars), {change['videos_added']:,} added"
             f" (+{change['meta_added']:,} .nfo)",
             f"{'variant':<13}{'step':<8}{'wall s':>9}{'in-run s':>10}{'peak RSS MiB':>14}"
             f"  {'status':<11}{'counts':<8}"]
    for step in facts["steps"]:
        in_run = f"{step['reported_s']:.2f}" if step["reported_s"] is not None else "-"
        lines.append(f"{step['variant']:<13}{step['step']:<8}{step['wall_s']:>9.2f}{in_run:>10}"
                     f"{step['peak_rss_kb'] / 1024:>14.1f}  {step['status']:<11}"
                     f"{'ok' if step['counts_ok'] else 'WRONG':<8}")
    trees = ", ".join(f"{step} {'yes' if same else 'NO'}"
                      for step, same in facts["trees_identical"].items())
    lines.append(f"target trees identical across variants: {trees}")
    if facts["ratios"]:
        lines.append("wall time ÷ naive's (below 1 is faster than naive):")
        for variant, ratios in facts["ratios"].items():
            lines.append(f"  {variant:<9}" + "  ".join(
                f"{step} {ratio:.2f} ({_speed(ratio)})" for step, ratio in ratios.items()))
    if facts.get("floor_ratios"):
        lines.append("wall time ÷ the C floor's (it writes only the videos' .strm, in place):")
        lines += _ratio_lines(facts["floor_ratios"])
    if facts.get("atomic_floor_ratios"):
        lines.append("wall time ÷ floor-atomic's (the floor with metadata copies and temp +"
                     " rename, one thread):")
        lines += _ratio_lines(facts["atomic_floor_ratios"])
    return lines


def _ratio_lines(ratios_by_variant: dict) -> list:
    return [f"  {variant:<9}" + "  ".join(f"{step} {ratio:.2f}" for step, ratio in ratios.items())
            for variant, ratios in ratios_by_variant.items()]


def _speed(ratio: float) -> str:
    return f"{1 / ratio:.2f}× faster" if ratio <= 1 else f"{ratio:.2f}× slower"


def _target_lines(targets: dict) -> list:
    head = f"targets (compiled build, N = {targets['n']:,}):"
    if not targets["measured"]:
        return [head, f"  NOT MEASURED — {targets['why']}"]
    verdict = {True: "PASS", False: "FAIL"}
    lines = [head]
    if "noop_speedup" in targets:
        lines += [f"  no-op resync ≥ {NOOP_TARGET:g}× faster than naive: "
                  f"{verdict[targets['noop_ok']]} ({targets['noop_speedup']:.2f}×)",
                  f"  first sync faster than naive:        {verdict[targets['first_ok']]}"
                  f" ({targets['first_speedup']:.2f}×)"]
    if "noop_floor" in targets:
        lines += [f"  no-op resync ≤ {FLOOR_TARGET:g}× the C floor:      "
                  f"{verdict[targets['noop_floor_ok']]} ({targets['noop_floor']:.2f}×)",
                  f"  first sync ≤ {FLOOR_TARGET:g}× the C floor:        "
                  f"{verdict[targets['first_floor_ok']]} ({targets['first_floor']:.2f}×)"]
    return lines


def _memory_lines(memory: dict) -> list:
    lines = [f"peak RSS, max over the three steps (MiB): N = {memory['n_small']:,} →"
             f" {memory['n_large']:,} ({memory['videos_large'] - memory['videos_small']:,}"
             " more videos)",
             f"{'variant':<9}{'small':>8}{'large':>8}{'growth':>8}{'manifest':>10}"
             f"{'beyond manifest':>17}"]
    for variant, entry in memory["variants"].items():
        manifest = entry.get("manifest_growth_kb")
        beyond = entry.get("beyond_manifest_kb")
        lines.append(f"{variant:<9}{entry['peak_small_kb'] / 1024:>8.1f}"
                     f"{entry['peak_large_kb'] / 1024:>8.1f}{entry['growth_kb'] / 1024:>8.1f}"
                     f"{_mib(manifest):>10}{_mib(beyond):>17}")
    lines.append("(manifest = growth of the job's manifest index, loaded alone;"
                 " naive keeps a set of expected paths instead)")
    return lines


def _mib(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / 1024:.1f}"
