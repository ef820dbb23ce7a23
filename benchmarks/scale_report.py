"""Figures, tables, PASS/FAIL lines and the RESULT line of benchmarks/scale.py.

Pure functions over what the benchmark measured: nothing here talks to a process or a cluster,
so the arithmetic (the scaling to the default poll interval, the list-page bound, the
re-observation after a restart) can be read on its own. See benchmarks/README.md.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

DEFAULT_INTERVAL = 60.0
"""The operator's default ASTRA_POLL_INTERVAL: steady figures are scaled to it."""
PAGE_SIZE = 100
"""Databases per page of GET /v2/databases (the operator asks for the largest page)."""
ANCHOR = 3600.0 / DEFAULT_INTERVAL
"""One GET per object per poll interval at the default interval, per object per hour (60)."""
READY_SECONDS = 60.0
WRITES_PER_DATABASE = 4
EDIT_P99_SECONDS = 2.0
RSS_MIB = 150.0
RATIO_BAR = 50.0
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE", "APPLY"})
READS = frozenset({"GET"})
ETCD_GET = "etcd get"
"""The verb under which ``Key`` counts the API server's own reads from etcd of a resource."""
Key = tuple[str, str, str]  # apiserver_request_total (resource, subresource, verb)


@dataclasses.dataclass(frozen=True)
class Kind:
    """One custom resource kind, and how the simulator names its calls."""

    name: str  # "databases"
    kind: str  # "AstraDatabase"
    plural: str  # "astradatabases"
    id_label: str  # status field holding the Astra ID
    creates: tuple[str, ...]  # request-count keys that create one in Astra
    list_route: str  # "GET <template>" that lists them all
    item_path: str  # concrete path prefix of one object's calls, + "/<id>"


KINDS = (
    Kind(
        "databases",
        "AstraDatabase",
        "astradatabases",
        "databaseID",
        ("POST /v2/databases",),
        "GET /v2/databases",
        "/v2/databases",
    ),
    Kind(
        "roles",
        "AstraRole",
        "astraroles",
        "roleID",
        ("POST /v2/organizations/roles",),
        "GET /v2/organizations/roles",
        "/v2/organizations/roles",
    ),
    Kind(
        "tokens",
        "AstraToken",
        "astratokens",
        "clientId",
        ("POST /v2/tokens", "POST /v2/clientIdSecrets"),
        "GET /v2/clientIdSecrets",
        "/v2/clientIdSecrets",
    ),
)
OTHER_RESOURCES = ("secrets", "events")
"""Other resources the operator writes (token Secrets, Events), counted beside the kinds."""


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); NaN for no values. p99 of 20 values is the max."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def database_pages(count: int) -> int:
    """Requests one complete GET /v2/databases takes: the client stops at a short page, so
    N//100 full pages and one short (or empty) one."""
    return count // PAGE_SIZE + 1


def list_pages(databases: int) -> int:
    """List requests per credential per poll interval if steady state is only lists: the
    database pages, roles (one page), tokens (one page) and access lists (one)."""
    return database_pages(databases) + 3


def kube_count(counts: Mapping[Key, int], resource: str, *, verbs: frozenset[str] = WRITES) -> int:
    """apiserver_request_total for ``resource`` (any subresource) and ``verbs``."""
    return sum(n for (res, _, verb), n in counts.items() if res == resource and verb in verbs)


def per_hour(count: float, intervals: float, objects: int) -> float:
    """Per object per hour at the default interval: per measured interval, times 60."""
    return count / intervals / max(objects, 1) * (3600.0 / DEFAULT_INTERVAL)


def what_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """One write in words: which of finalizers, annotations, spec, status fields and
    conditions (``Ready=True``) differ between two versions of an object."""
    om, nm = old.get("metadata") or {}, new.get("metadata") or {}
    parts = ["finalizers"] if om.get("finalizers") != nm.get("finalizers") else []
    parts += [f"annotation {k.rsplit('/', 1)[-1]}" for k in _differ(om, nm, "annotations")]
    parts += ["spec"] if old.get("spec") != new.get("spec") else []
    ost, nst = old.get("status") or {}, new.get("status") or {}
    fields = [k for k in _differ(old, new, "status") if k != "conditions"]
    before = {c.get("type"): c for c in ost.get("conditions") or []}
    conds = [
        f"{c.get('type')}={c.get('status')}"
        for c in nst.get("conditions") or []
        if before.get(c.get("type")) != c
    ]
    if fields or conds:
        parts.append("status " + ",".join(fields + conds))
    return "; ".join(parts) or "metadata only"


def _differ(old: Mapping[str, Any], new: Mapping[str, Any], key: str) -> list[str]:
    a, b = old.get(key) or {}, new.get(key) or {}
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


# --- what the phases measured ---------------------------------------------------------------------


@dataclasses.dataclass
class Created:
    """The create phase of one kind."""

    kind: Kind
    count: int
    ready_since_apply: list[float]  # seconds from the first apply, per Ready object
    ready_since_create: list[float]  # seconds from the object's own create, per Ready object
    creates: int  # DevOps create requests
    kube_writes: int  # apiserver writes on the kind, without the benchmark's own creates
    kube_status_writes: int  # of which on the status subresource
    versions: list[int]  # per Ready object: resourceVersions after the create, until Ready
    sequences: Counter[str]  # what those writes changed, in order ("a | b | c"): objects
    events: int  # Event writes about objects of this kind (the Events' count fields)

    @property
    def ready(self) -> int:
        return len(self.ready_since_apply)


@dataclasses.dataclass
class Steady:
    """The steady window: counters reset, K poll intervals, nothing changed."""

    interval: float
    intervals: int
    seconds: float  # measured length of the window
    objects: int
    databases: int
    requests: Counter[str]
    kube: Counter[Key]
    versions: Counter[str]  # resourceVersion changes the watches saw, by what changed

    @property
    def scale(self) -> float:
        """Measured intervals in the window (K, from the measured length)."""
        return self.seconds / self.interval

    def requests_per_hour(self) -> float:
        return per_hour(sum(self.requests.values()), self.scale, self.objects)

    def writes(self) -> int:
        resources = [k.plural for k in KINDS] + list(OTHER_RESOURCES)
        return sum(kube_count(self.kube, r) for r in resources)

    def writes_per_hour(self) -> float:
        return per_hour(self.writes(), self.scale, self.objects)

    def bound_per_hour(self) -> float:
        """Requests per hour at the default interval if each interval were only the lists."""
        return list_pages(self.databases) * (3600.0 / DEFAULT_INTERVAL)


@dataclasses.dataclass
class Edits:
    """Spec edits (one added keyspace each), one at a time."""

    count: int
    to_keyspace_call: list[float]  # edit -> POST .../keyspaces/k<i>, per edit that got one
    to_first_call: list[float]  # edit -> first request naming that database's ID
    kube_writes: int  # apiserver writes until the edits settled, without our own edits
    settled: int  # edited databases Ready again at their new generation


@dataclasses.dataclass
class Restart:
    """After SIGKILL and a fresh start: the first ``seconds``."""

    how: str  # how the first process was stopped: "SIGKILL"
    seconds: float
    requests: Counter[str]
    kube: Counter[Key]
    versions: Counter[str]  # resourceVersion changes the watches saw, by what changed
    reobserved: dict[str, tuple[int, float]]  # kind -> (objects covered, seconds to the last)
    log_lines: int
    log_warnings: int

    def writes(self) -> int:
        resources = [k.plural for k in KINDS] + list(OTHER_RESOURCES)
        return sum(kube_count(self.kube, r) for r in resources)

    def devops_writes(self) -> int:
        return sum(n for key, n in self.requests.items() if not key.startswith("GET "))


@dataclasses.dataclass
class Resources:
    rss_mib: float  # VmHWM of the first operator process (create, steady, edits)
    cpu_seconds: float
    restarted_rss_mib: float
    restarted_cpu_seconds: float
    others: dict[str, float]  # process -> CPU seconds


@dataclasses.dataclass
class Report:
    count: int
    created: list[Created]
    create_requests: Counter[str]
    steady: Steady | None = None
    edits: Edits | None = None
    restart: Restart | None = None
    resources: Resources | None = None
    kube_other: dict[str, int] = dataclasses.field(default_factory=dict)  # create phase

    @property
    def all_ready(self) -> bool:
        return all(c.ready == c.count for c in self.created)

    @property
    def creates_exact(self) -> bool:
        return all(c.creates == c.count for c in self.created)


# --- re-observation after a restart --------------------------------------------------------------


def reobserved(
    log: Sequence[Mapping[str, Any]], ids: Mapping[str, Sequence[str]], started: float
) -> dict[str, tuple[int, float]]:
    """Per kind: how many objects the requests in ``log`` covered, and seconds from
    ``started`` to the last of them. An object is covered by a request naming its ID in the
    path, or by a complete list of its kind (for databases: a first page and then enough
    ``starting_after`` pages for every database)."""
    result: dict[str, tuple[int, float]] = {}
    for kind in KINDS:
        wanted = [i for i in ids.get(kind.name, ()) if i]
        listed = _listed_at(log, kind, len(ids.get("databases", ())))
        seen: dict[str, float] = {}
        for entry in log:
            path = str(entry["path"])
            for astra_id in _named(path, kind, wanted):
                seen.setdefault(astra_id, float(entry["at"]))
        times = [min(seen.get(i, math.inf), listed) for i in wanted]
        covered = [t for t in times if t < math.inf]
        last = max(covered) - started if covered else math.nan
        result[kind.name] = (len(covered), last)
    return result


def _named(path: str, kind: Kind, wanted: Sequence[str]) -> list[str]:
    prefix = kind.item_path + "/"
    if not path.startswith(prefix):
        return []
    head = path[len(prefix) :].split("/", 1)[0]
    return [head] if head in wanted else []


def _listed_at(log: Sequence[Mapping[str, Any]], kind: Kind, databases: int) -> float:
    """When the first complete list of ``kind`` had been requested (inf: never)."""
    need = database_pages(databases) if kind.name == "databases" else 1
    chain = 0
    for entry in log:
        if f"{entry['method']} {entry['route']}" != kind.list_route:
            continue
        chain = chain + 1 if "starting_after=" in str(entry.get("query", "")) else 1
        if chain >= need:
            return float(entry["at"])
    return math.inf


# --- printing -------------------------------------------------------------------------------------


def table(rows: Sequence[Sequence[object]]) -> list[str]:
    """Rows as aligned columns: the first left-aligned, the rest right-aligned."""
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(len(cells[0]))]
    out = []
    for row in cells:
        parts = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=False)
        ]
        out.append("  ".join(parts).rstrip())
    return out


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def _spread(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{percentile(values, 0.5):.1f} / {max(values):.1f}"


def _ints(values: Sequence[int]) -> str:
    if not values:
        return "-"
    return f"{percentile(values, 0.5):.0f} / {max(values)}"


def create_lines(report: Report) -> list[str]:
    rows: list[list[object]] = [["create to Ready", *(c.kind.kind for c in report.created)]]
    rows += [
        ["objects / Ready", *(f"{c.count} / {c.ready}" for c in report.created)],
        [
            "Ready s after first apply p50 / max",
            *(_spread(c.ready_since_apply) for c in report.created),
        ],
        [
            "Ready s after own create p50 / max",
            *(_spread(c.ready_since_create) for c in report.created),
        ],
        ["DevOps creates (must equal objects)", *(c.creates for c in report.created)],
        ["kube writes/object (apiserver)", *(c.kube_writes / c.count for c in report.created)],
        ["  of which status", *(c.kube_status_writes / c.count for c in report.created)],
        ["writes/object (watch) p50 / max", *(_ints(c.versions) for c in report.created)],
        ["Events written/object", *(c.events / c.count for c in report.created)],
    ]
    lines = table(rows)
    lines.append("writes from create to Ready, as the watch saw them (most common per kind):")
    for c in report.created:
        for sequence, n in c.sequences.most_common(2):
            lines.append(f"  {c.kind.kind} x{n}: {sequence or 'none'}")
    other = ", ".join(f"{r} {n}" for r, n in report.kube_other.items())
    lines.append(f"other kube writes: {other or 'none'}")
    lines.append("DevOps API requests, create phase:")
    lines += [f"  {n:7d}  {k}" for k, n in report.create_requests.most_common()]
    return lines


def steady_lines(s: Steady) -> list[str]:
    total = sum(s.requests.values())
    measured = s.requests_per_hour()
    ratio = ANCHOR / measured if measured else math.inf
    reads = sum(kube_count(s.kube, k.plural, verbs=READS) for k in KINDS)
    etcd = sum(kube_count(s.kube, k.plural, verbs=frozenset({ETCD_GET})) for k in KINDS)
    rows: list[list[object]] = [
        ["steady state", "measured", f"per object per hour at {DEFAULT_INTERVAL:.0f} s"],
        [
            f"window ({s.intervals} x {s.interval:g} s = {s.seconds:.1f} s, {s.objects} objects)",
            "",
            "",
        ],
        ["DevOps API requests", total, measured],
        ["  before: one GET per object per interval", "", ANCHOR],
        ["  ratio before / now", "", "inf" if ratio == math.inf else f"{ratio:.1f}x"],
        [f"  bound: {list_pages(s.databases)} list pages per interval", "", ""],
        ["    (all objects, per hour)", "", s.bound_per_hour()],
        ["kube writes (apiserver)", s.writes(), s.writes_per_hour()],
        [
            "kube resourceVersion changes (watch)",
            sum(s.versions.values()),
            per_hour(sum(s.versions.values()), s.scale, s.objects),
        ],
        ["kube GETs of the kinds (reads)", reads, per_hour(reads, s.scale, s.objects)],
        ["  reads of the kinds sent to etcd", etcd, per_hour(etcd, s.scale, s.objects)],
    ]
    lines = table(rows)
    lines += [f"  {n:7d}  {k}" for k, n in s.requests.most_common()]
    lines += _kube_breakdown(s.kube, s.versions)
    return lines


def _kube_breakdown(kube: Counter[Key], versions: Counter[str]) -> list[str]:
    writes = [(k, n) for k, n in kube.items() if k[2] in WRITES and n]
    out = [f"  {n:7d}  kube {v} {r}{'/' + s if s else ''}" for (r, s, v), n in sorted(writes)]
    return out + [f"  {n:7d}  watch {what}" for what, n in versions.most_common(5)]


def edit_lines(e: Edits) -> list[str]:
    rows: list[list[object]] = [
        [f"spec edits ({e.count}, one at a time)", "p50 s", "p99 s", "max s", "got"],
        [
            "edit -> POST .../keyspaces/k<i>",
            *_quantiles(e.to_keyspace_call),
            len(e.to_keyspace_call),
        ],
        [
            "edit -> first call naming the database",
            *_quantiles(e.to_first_call),
            len(e.to_first_call),
        ],
    ]
    lines = table(rows)
    if e.count <= 100:
        lines.append(f"(with {e.count} edits the nearest-rank p99 is the maximum)")
    lines.append(
        f"kube writes per edit until settled: {e.kube_writes / max(e.count, 1):.2f}; "
        f"{e.settled}/{e.count} settled (keyspace in status, Ready, observedGeneration current)"
    )
    return lines


def _quantiles(values: Sequence[float]) -> list[float]:
    return [percentile(values, 0.5), percentile(values, 0.99), max(values, default=math.nan)]


def restart_lines(r: Restart, counts: Mapping[str, int]) -> list[str]:
    rows: list[list[object]] = [[f"restart ({r.how}, first {r.seconds:.0f} s)", "count"]]
    rows += [
        ["DevOps API requests", sum(r.requests.values())],
        ["  of which writes (not GET)", r.devops_writes()],
        ["kube writes (apiserver)", r.writes()],
        ["kube resourceVersion changes (watch)", sum(r.versions.values())],
        ["operator log lines (warnings+errors)", f"{r.log_lines} ({r.log_warnings})"],
    ]
    for name, (covered, last) in r.reobserved.items():
        when = f"after {last:.1f} s" if covered else "never"
        rows.append([f"{name} re-observed", f"{covered}/{counts[name]} {when}"])
    lines = table(rows)
    lines += [f"  {n:7d}  {k}" for k, n in r.requests.most_common()]
    lines += _kube_breakdown(r.kube, r.versions)
    return lines


def resource_lines(res: Resources) -> list[str]:
    others = ", ".join(f"{k} {v:.1f} s" for k, v in res.others.items())
    return [
        f"operator peak RSS {res.rss_mib:.0f} MiB (VmHWM), CPU {res.cpu_seconds:.1f} s "
        "(create, steady, edits)",
        f"restarted operator peak RSS {res.restarted_rss_mib:.0f} MiB, "
        f"CPU {res.restarted_cpu_seconds:.1f} s",
        f"other CPU: {others}",
    ]


# --- verdicts and the RESULT line -----------------------------------------------------------------


def verdicts(report: Report) -> list[tuple[bool, str]]:
    """(passed, text) for every target; the bars are set for N=1000."""
    dbs = report.created[0]
    took = max(dbs.ready_since_apply) if dbs.ready == dbs.count else math.inf
    out = [
        (
            took <= READY_SECONDS,
            f"all {dbs.count} databases Ready within {READY_SECONDS:.0f} s "
            f"of the first apply ({took:.1f} s)",
        ),
    ]
    out += [
        (c.creates == c.count, f"{c.kind.name} creates exactly {c.count} ({c.creates})")
        for c in report.created
    ]
    worst = max(dbs.versions, default=0)
    out.append(
        (
            worst <= WRITES_PER_DATABASE,
            f"at most {WRITES_PER_DATABASE} writes per database from "
            f"create to Ready, finalizer included (watch max {worst}; apiserver mean "
            f"{dbs.kube_writes / dbs.count:.2f})",
        )
    )
    if report.steady is not None:
        out += _steady_verdicts(report.steady)
    if report.edits is not None:
        e = report.edits
        p99 = (
            percentile(e.to_keyspace_call, 0.99) if len(e.to_keyspace_call) == e.count else math.inf
        )
        out.append(
            (
                p99 < EDIT_P99_SECONDS,
                f"spec edit to first keyspace call p99 under "
                f"{EDIT_P99_SECONDS:.0f} s ({p99:.2f} s, {len(e.to_keyspace_call)}/{e.count})",
            )
        )
    if report.restart is not None:
        r = report.restart
        counts = {c.kind.name: c.count for c in report.created}
        missed = {k: counts[k] - n for k, (n, _) in r.reobserved.items() if n < counts[k]}
        last = max((t for n, t in r.reobserved.values() if n), default=math.nan)
        out.append(
            (
                not missed and last <= r.seconds,
                f"restart: every object re-observed within {r.seconds:.0f} s "
                f"({f'missed {missed}' if missed else f'the last after {last:.1f} s'})",
            )
        )
        out.append(
            (
                r.writes() == 0 and r.devops_writes() == 0,
                f"restart: zero writes (kube {r.writes()}, DevOps {r.devops_writes()})",
            )
        )
    if report.resources is not None:
        rss = report.resources.rss_mib
        out.append((rss < RSS_MIB, f"operator peak RSS under {RSS_MIB:.0f} MiB ({rss:.0f} MiB)"))
    return out


def _steady_verdicts(s: Steady) -> list[tuple[bool, str]]:
    total = sum(s.requests.values()) / s.scale * (3600.0 / DEFAULT_INTERVAL)
    measured = s.requests_per_hour()
    ratio = ANCHOR / measured if measured else math.inf
    attainable = s.objects / list_pages(s.databases)
    return [
        (
            total <= s.bound_per_hour(),
            f"steady DevOps requests at most 60 x {list_pages(s.databases)} "
            f"list pages per hour per credential ({total:.0f}/h at the default interval)",
        ),
        (
            ratio >= RATIO_BAR,
            f"steady requests at least {RATIO_BAR:.0f}x fewer than one GET per "
            f"object per interval ({ratio:.1f}x; at the list-page bound this N would give "
            f"{attainable:.1f}x)",
        ),
        (s.writes() == 0, f"zero kube writes in steady state ({s.writes()})"),
    ]


def result(report: Report) -> dict[str, Any]:
    """Everything as one JSON-able dict (the RESULT line)."""
    out: dict[str, Any] = {"count": report.count, "all_ready": report.all_ready}
    out["creates_exact"] = report.creates_exact
    for c in report.created:
        out[c.kind.name] = {
            "objects": c.count,
            "ready": c.ready,
            "ready_s_p50": _num(percentile(c.ready_since_apply, 0.5)),
            "ready_s_max": _num(max(c.ready_since_apply, default=math.nan)),
            "create_to_ready_s_p50": _num(percentile(c.ready_since_create, 0.5)),
            "create_to_ready_s_max": _num(max(c.ready_since_create, default=math.nan)),
            "creates": c.creates,
            "kube_writes_per_object": c.kube_writes / c.count,
            "watch_writes_p50": _num(percentile(c.versions, 0.5)),
            "watch_writes_max": max(c.versions, default=None),
        }
    out["create_requests"] = dict(report.create_requests)
    if (s := report.steady) is not None:
        out["steady"] = {
            "interval_s": s.interval,
            "window_s": s.seconds,
            "requests": sum(s.requests.values()),
            "requests_per_object_hour": s.requests_per_hour(),
            "anchor_per_object_hour": ANCHOR,
            "anchor_ratio": _num(ANCHOR / s.requests_per_hour()) if s.requests_per_hour() else None,
            "bound_per_hour": s.bound_per_hour(),
            "kube_writes": s.writes(),
            "kube_writes_per_object_hour": s.writes_per_hour(),
            "by_endpoint": dict(s.requests),
        }
    if (e := report.edits) is not None:
        out["edits"] = {
            "count": e.count,
            "keyspace_call_s_p50": _num(percentile(e.to_keyspace_call, 0.5)),
            "keyspace_call_s_p99": _num(percentile(e.to_keyspace_call, 0.99)),
            "first_call_s_p50": _num(percentile(e.to_first_call, 0.5)),
            "first_call_s_p99": _num(percentile(e.to_first_call, 0.99)),
            "got": len(e.to_keyspace_call),
        }
    if (r := report.restart) is not None:
        out["restart"] = {
            "stopped_with": r.how,
            "seconds": r.seconds,
            "requests": sum(r.requests.values()),
            "devops_writes": r.devops_writes(),
            "kube_writes": r.writes(),
            "reobserved": {
                k: {"objects": n, "after_s": _num(t)} for k, (n, t) in r.reobserved.items()
            },
            "by_endpoint": dict(r.requests),
        }
    if report.resources is not None:
        out["resources"] = dataclasses.asdict(report.resources)
    out["verdicts"] = [{"pass": ok, "target": text} for ok, text in verdicts(report)]
    return out


def _num(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else round(value, 3)


def result_line(report: Report) -> str:
    return "RESULT " + json.dumps(result(report), sort_keys=True)
