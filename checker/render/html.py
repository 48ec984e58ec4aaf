"""`report`: one self-contained HTML file with the verdicts and every trace, stepped through.

Everything is inline (CSS, a little JavaScript, the SVG pictures from `diagrams.py`), so
the file opens from disk with no network. Each trace has a viewer: back and forward
buttons (or the arrow keys once it has focus) move the current step, which is marked
at once in the step table, on the sequence diagram and on the state graph.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from checker.render.diagrams import DEFAULT_MAX_NODES, Job, draw, steps_info, trace_title, unpack_job

__all__ = ["render_report"]

_CSS = """
body { font-family: Helvetica, Arial, sans-serif; margin: 24px; color: #222; max-width: 1500px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 36px; border-bottom: 1px solid #ccc; }
h3 { font-size: 15px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #d5d5d5; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f5f8; }
.ok { color: #1b7f3b; font-weight: bold; } .bad { color: #c0392b; font-weight: bold; }
.unknown { color: #8e44ad; }
.viewer { border: 1px solid #c9d3e0; border-radius: 6px; padding: 12px; margin: 16px 0; }
.controls button { font-size: 14px; padding: 4px 12px; margin-right: 6px; }
.counter { font-weight: bold; margin: 0 10px; }
.now { margin: 8px 0; padding: 6px 10px; background: #fff8d6; border-left: 4px solid #e0b000; }
.now.failure { background: #fdecea; border-left-color: #c0392b; }
.steps tr.current td { background: #fff3b0; }
.steps tr.failure td:nth-child(2) { color: #c0392b; font-weight: bold; }
.pictures { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.pictures > div { overflow: auto; max-height: 900px; border: 1px solid #eee; }
.pictures svg { height: auto; max-width: 100%; }
.sequence-box .step.current .step-bg { fill: #fff3b0; fill-opacity: 0.8; }
.graph-box .node.current > ellipse, .graph-box .node.current > polygon, .graph-box .node.current > path,
.graph-box .node.current a > ellipse, .graph-box .node.current a > polygon, .graph-box .node.current a > path
  { stroke: #000; stroke-width: 6px; }
.graph-box .edge.current > path, .graph-box .edge.current a > path { stroke: #000; stroke-width: 5px; }
.muted { color: #666; font-size: 13px; }
"""

_JS = """
function setStep(viewer, k) {
  var data = JSON.parse(viewer.querySelector('script.steps-data').textContent);
  var n = data.length - 1;
  k = Math.max(0, Math.min(n, k));
  viewer.dataset.step = k;
  var st = data[k];
  viewer.querySelector('.counter').textContent = 'step ' + k + ' of ' + n;
  var now = viewer.querySelector('.now');
  now.textContent = k === 0 ? 'the initial state' :
      st.action + ': ' + st.description + (st.changed ? ' (' + st.changed + ')' : '');
  if (st.results) { now.textContent += ' => ' + st.results; }
  now.classList.toggle('failure', !!st.failure);
  viewer.querySelectorAll('.current').forEach(function (e) { e.classList.remove('current'); });
  var row = viewer.querySelector('tr[data-step="' + k + '"]');
  if (row) { row.classList.add('current'); }
  var seq = viewer.querySelector('.sequence-box [data-step="' + k + '"]');
  if (seq) { seq.classList.add('current'); }
  var node = viewer.querySelector('.graph-box [id="' + viewer.id + '-' + st.node + '"]');
  if (node) { node.classList.add('current'); }
  if (st.edge) {
    var edge = viewer.querySelector('.graph-box [id="' + viewer.id + '-' + st.edge + '"]');
    if (edge) { edge.classList.add('current'); }
  }
  viewer.querySelector('button.prev').disabled = k === 0;
  viewer.querySelector('button.next').disabled = k === n;
}
document.querySelectorAll('.viewer').forEach(function (v) {
  v.querySelector('button.prev').addEventListener('click', function () { setStep(v, +v.dataset.step - 1); });
  v.querySelector('button.next').addEventListener('click', function () { setStep(v, +v.dataset.step + 1); });
  v.querySelector('button.first').addEventListener('click', function () { setStep(v, 0); });
  v.addEventListener('keydown', function (e) {
    if (e.key === 'ArrowRight') { setStep(v, +v.dataset.step + 1); e.preventDefault(); }
    if (e.key === 'ArrowLeft') { setStep(v, +v.dataset.step - 1); e.preventDefault(); }
  });
  setStep(v, 0);
});
"""


def _inline_svg(svg: bytes | str, prefix: str, cls: str) -> str:
    """An SVG made fit to sit inside HTML next to others: no XML prologue, ids prefixed."""
    text = svg.decode() if isinstance(svg, bytes) else svg
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text)
    text = re.sub(r"<!--.*?-->\s*", "", text, flags=re.S)
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})", text)
    return f'<div class="{cls}">{text.strip()}</div>'


def _verdict_class(as_expected: bool | None) -> str:
    return {True: "ok", False: "bad", None: "unknown"}[as_expected]


def render_report(jobs: list[Job], command: str, *,
                  max_nodes: int = DEFAULT_MAX_NODES, matrix: bool = False,
                  proofs: dict[str, Any] | None = None) -> str:
    """The whole HTML page for the given instances.

    matrix: put the matrix table (configurations down, properties across) first, its cells
    linking to the rows drawn below (jobs named matrix-ID, as `cli._matrix_jobs` makes them).
    proofs: each row's ProveResult (`matrix.prove_rows`), shown in its cells that hold.
    """
    e = html.escape
    body: list[str] = []
    toc: list[str] = []
    viewer_no = 0
    results: dict[str, Any] = {}
    for job in jobs:
        model, system, name, title = unpack_job(job)
        d = draw(model, system, max_nodes=max_nodes, name=name, title=title)
        results[d.slug] = d.result
        r = d.result
        params = ", ".join(f"{k}={v}" for k, v in system.params.items())
        anchor = f"i-{d.slug}"
        toc.append(f'<li><a href="#{anchor}">{e(d.title)}</a></li>')
        body.append(f'<h2 id="{anchor}">{e(d.title)}</h2>')
        if title:  # a named instance (a matrix row, say): say which model instance it is
            body.append(f'<p class="muted">{e(system.model)} ({e(params)})</p>')
        first_line = re.sub(r"`([^`]+)`", r"<code>\1</code>", e(model.doc.splitlines()[0] if model.doc else ""))
        body.append(f'<p>{first_line} Failure modes: '
                    f'{e(", ".join(system.failure_modes) or "none")}.<br>{r.states:,} states, '
                    f'{r.transitions:,} transitions, depth {r.depth}, '
                    f'{"complete" if r.complete else "INCOMPLETE"}. State graph drawn: {e(d.graph_kind)}.</p>')
        body.append('<table class="verdicts"><tr><th>property</th><th>kind</th><th>expected</th>'
                    '<th>verdict</th><th>as expected</th><th>trace</th></tr>')
        for p in r.properties:
            word = {True: "yes", False: "NO", None: "-"}[p.as_expected]
            tr = " ".join(p.trace.actions) if p.trace else "-"
            body.append(f'<tr><td>{e(p.name)}</td><td>{p.kind}</td><td>{p.expected or "-"}</td>'
                        f'<td class="{_verdict_class(p.as_expected)}">{p.verdict}</td><td>{word}</td>'
                        f'<td>{e(tr)}</td></tr>')
        body.append("</table>")
        for p in r.properties:
            if p.reason:
                body.append(f'<p class="muted">{e(p.name)} is {p.verdict}: {e(p.reason)}</p>')
        for p in r.properties:
            if p.trace is None:
                continue
            viewer_no += 1
            vid = f"v{viewer_no}"
            info = steps_info(model, p.trace)
            nodes = [d.node_ids[st["state"]] for st in info]
            edge_prefix = "qe" if d.project is not None else "e"
            data = [{"action": st["action"], "description": st["description"], "failure": st["failure"],
                     "changed": ", ".join(st["changed"]), "results": ", ".join(st["results"]),
                     "node": nodes[k],
                     "edge": f"{edge_prefix}{nodes[k - 1][1:]}_{nodes[k][1:]}" if k else None}
                    for k, st in enumerate(info)]
            title = trace_title(p)
            body.append(f'<div class="viewer" id="{vid}" tabindex="0" data-property="{e(p.name)}" data-step="0">')
            body.append(f"<h3>{e(title)}</h3>")
            body.append('<div class="controls"><button class="first">start</button>'
                        '<button class="prev">&#x25C0; back</button><span class="counter"></span>'
                        '<button class="next">forward &#x25B6;</button>'
                        '<span class="muted">(or the arrow keys)</span></div>')
            body.append('<div class="now"></div>')
            cols = list(model.picture_spec.columns or {}) or ["what changed"]
            body.append('<table class="steps"><tr><th>step</th><th>action</th>'
                        + "".join(f"<th>{e(c)}</th>" for c in cols) + "<th>result</th></tr>")
            for st in info:
                vals = [st["columns"].get(c, ", ".join(st["changed"])) for c in cols]
                act = "(initial)" if st["action"] is None else st["action"]
                body.append(f'<tr data-step="{st["step"]}"{" class=failure" if st["failure"] else ""}>'
                            f'<td>{st["step"]}</td><td>{e(act)}</td>'
                            + "".join(f"<td>{e(v)}</td>" for v in vals)
                            + f'<td>{e(", ".join(st["results"]) or "-")}</td></tr>')
            body.append("</table>")
            body.append('<div class="pictures">')
            body.append(_inline_svg(d.files[f"{p.name}.sequence.svg"], vid, "sequence-box"))
            body.append(_inline_svg(d.files[f"{p.name}.graph.svg"], vid, "graph-box"))
            body.append("</div>")
            payload = json.dumps(data).replace("</", "<\\/")  # cannot end the script element
            body.append(f'<script type="application/json" class="steps-data">{payload}</script>')
            body.append("</div>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>Model-checking report</title>"
            f"<style>{_CSS}</style></head><body>\n"
            "<h1>Model-checking report</h1>\n"
            f'<p class="muted">Generated by <code>{e(command)}</code>. Every verdict and trace comes from '
            "an exhaustive search of the instance; each trace below steps forward and back with its "
            "sequence diagram and its place on the state graph.</p>\n"
            + (_matrix_table(results, proofs) if matrix else "")
            + f"<ul>{''.join(toc)}</ul>\n" + "\n".join(body)
            + f"\n<script>{_JS}</script>\n</body></html>\n")


def _matrix_table(results: dict[str, Any], proofs: dict[str, Any] | None = None) -> str:
    """The matrix as an HTML table; each cell links to the drawn row, whose traces step below.
    With proofs, a cell that holds says whether it is proved for every size (its claim or
    the reason in the cell's tooltip)."""
    from checker.matrix import Row, cell_text, columns_of, fixed_by, fixed_by_text
    from checker.registry import configs, fixes
    e = html.escape
    cfgs = [c for c in configs().values() if f"matrix-{c.id}" in results]
    if not cfgs:
        return ""
    cols = columns_of(cfgs)
    out = ["<h2>Matrix</h2>", '<table class="matrix"><tr><th>configuration</th><th>settings</th>'
           + "".join(f"<th>{e(c)}</th>" for c in cols) + "<th>source</th><th>agrees</th><th>fixed by</th></tr>"]
    rows = [Row(cfg, results[f"matrix-{cfg.id}"], (proofs or {}).get(cfg.id)) for cfg in cfgs]
    fixed_by(rows, fixes())
    for cfg, row in zip(cfgs, rows):
        cells = []
        for c in cols:
            cell = row.cell(c)
            ok = row.result.prop(c).as_expected if cell is not None and c in cfg.expect else None
            proof = (cell or {}).get("proof") or {}
            tip = proof.get("claim") or proof.get("reason")
            title = f' title="{e(tip)}"' if tip else ""
            cells.append(f'<td class="{_verdict_class(ok) if c in cfg.expect else ""}"{title}>'
                         f'<a href="#i-matrix-{e(cfg.id)}">{e(cell_text(cell))}</a></td>')
        agrees = {True: "yes", False: "NO", None: "-"}[row.agrees()]
        out.append(f"<tr><td><code>{e(cfg.id)}</code>: {e(cfg.description)}</td>"
                   f"<td><code>{e(cfg.settings_line())}</code></td>" + "".join(cells)
                   + f'<td>{e(cfg.source)}</td><td class="{_verdict_class(row.agrees())}">{agrees}</td>'
                   + f"<td>{e(fixed_by_text(row, cols))}</td></tr>")
    out.append("</table>")
    return "\n".join(out) + "\n"
