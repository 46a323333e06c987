// The explorer page: it sends the expression to the server, which
// computes everything on the backprop engine (POST /api/grad), and then
// only draws the circuit and steps through it.
//
// The walk-through is a sequence of frames. With N nodes:
//   frame 0          the inputs
//   frames 1..N      the forward pass: frame k computes node k
//   frame N+1        backward tick 0: the output gets df/df = 1
//   frames N+2..2N+1 backward tick j: node N-j multiplies its local
//                    gradients by its upstream gradient
"use strict";

(function () {
  const SVGNS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);

  // ?ms=N sets the pace of Forward and Backward, in milliseconds per node
  // (the tests use a small one).
  const params = new URLSearchParams(location.search);
  const stepMs = params.has("ms") ? Math.max(0, Number(params.get("ms")) || 0) : 450;

  let data = null; // the server's answer
  let nodes = [];
  let N = 0;
  let frame = 0;
  let timer = null;
  let requestSeq = 0;
  let view = null; // elements of the drawn circuit and tables

  // fmt writes a number with the given significant digits, as Go's
  // strconv.FormatFloat(v, 'g', digits, 64) does, but integers in full.
  // null is what the server sends for NaN and the infinities.
  function fmt(v, digits) {
    if (v === null || v === undefined) return "NaN";
    if (Object.is(v, -0)) return "-0";
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    let s = v.toPrecision(digits);
    let [m, e] = s.split("e");
    if (m.includes(".")) m = m.replace(/0+$/, "").replace(/\.$/, "");
    if (e === undefined) return m;
    return m + "e" + (e[0] === "+" ? "+" : "-") + e.slice(1).padStart(2, "0");
  }

  // num makes a span holding a number: short on the page, exact in the
  // tooltip and in data-v (shortest round-trip form).
  function num(v, digits, cls) {
    const s = document.createElement("span");
    s.className = "num" + (cls ? " " + cls : "");
    s.textContent = fmt(v, digits);
    s.dataset.v = v === null ? "NaN" : String(v);
    s.title = v === null ? "not a finite number" : String(v);
    return s;
  }

  function svgEl(name, attrs, parent) {
    const el = document.createElementNS(SVGNS, name);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    if (parent) parent.appendChild(el);
    return el;
  }

  // How a node's formula reads with numbers in place of names.
  function withValues(node) {
    const vals = node.inputs.map((inp, i) => {
      const s = fmt(inp.value, 4);
      return i > 0 && s.startsWith("-") ? "(" + s + ")" : s;
    });
    const sym = node.symbol;
    if (sym === "neg") return "-" + (vals[0].startsWith("-") ? "(" + vals[0] + ")" : vals[0]);
    if (vals.length === 2 && sym.length === 1) return vals[0] + " " + sym + " " + vals[1];
    return sym + "(" + vals.join(", ") + ")";
  }

  // ---- drawing -----------------------------------------------------------

  function build() {
    const L = data.layout;
    const svg = $("graph");
    svg.replaceChildren();
    // A circuit a little wider than the page is scaled down to fit; a
    // much wider one scrolls, so its numbers stay readable.
    const room = $("graph-wrap").clientWidth - 2;
    const scale = L.width > room ? Math.max(room / L.width, 0.8) : 1;
    svg.setAttribute("width", Math.floor(L.width * scale));
    svg.setAttribute("height", Math.ceil(L.height * scale));
    svg.setAttribute("viewBox", `0 0 ${L.width} ${L.height}`);
    svgEl("title", {}, svg).textContent = "f = " + data.src;

    view = { edges: [], vertices: new Map(), rows: [], varRows: [] };
    const byID = new Map(L.vertices.map((v) => [v.id, v]));

    const wires = svgEl("g", { class: "wires" }, svg);
    for (const e of L.edges) {
      const g = svgEl("g", { class: "edge", "data-step": e.step, "data-input": e.input }, wires);
      svgEl("path", { class: "wire", d: e.d }, g);
      const val = svgEl("text", { class: "val", x: e.lx, y: e.ly - 5 }, g);
      const grad = svgEl("text", { class: "grad", x: e.lx, y: e.ly + 14 }, g);
      view.edges.push({ e, g, val, grad, src: byID.get(e.from) });
    }

    const boxes = svgEl("g", { class: "vertices" }, svg);
    for (const v of L.vertices) {
      const g = svgEl("g", { class: "vertex " + v.kind, id: "vx-" + v.id }, boxes);
      const x0 = v.x - v.w / 2, y0 = v.y - v.h / 2;
      const el = { v, g };
      switch (v.kind) {
        case "var":
          svgEl("rect", { x: x0, y: y0, width: v.w, height: v.h, rx: 4 }, g);
          svgEl("text", { class: "label", x: v.x, y: v.y + 4 }, g).textContent = v.label;
          // Its value and its gradient (summed over its uses) on its left.
          el.val = svgEl("text", { class: "val side", x: x0 - 6, y: v.y - 3 }, g);
          el.grad = svgEl("text", { class: "grad side", x: x0 - 6, y: v.y + 12 }, g);
          break;
        case "const":
          svgEl("text", { class: "label", x: v.x, y: v.y + 4 }, g).textContent = v.label;
          break;
        case "op": {
          const node = nodes[v.step];
          svgEl("rect", { x: x0, y: y0, width: v.w, height: v.h, rx: v.h / 2 }, g);
          svgEl("text", { class: "label", x: v.x, y: v.y + 5 }, g).textContent = v.label;
          svgEl("text", { class: "id", x: v.x, y: y0 - 5 }, g).textContent = node.id;
          svgEl("title", {}, g).textContent = `${node.id} = ${data.formulas[v.step]} (${node.op}${node.const ? ", constant: folded by the engine" : ""})`;
          if (node.const) g.classList.add("folded");
          break;
        }
        case "out":
          svgEl("text", { class: "label", x: v.x, y: v.y + 5 }, g).textContent = v.label;
          break;
      }
      view.vertices.set(v.id, el);
    }

    // The tables.
    const body = $("steps").tBodies[0];
    body.replaceChildren();
    nodes.forEach((node, k) => {
      const tr = body.insertRow();
      tr.id = "row-" + node.id;
      const cells = {};
      for (const name of ["id", "op", "computes", "value", "local", "upstream", "grad"]) {
        cells[name] = tr.insertCell();
        cells[name].className = name;
      }
      cells.id.textContent = node.id;
      cells.op.textContent = node.op + (node.const ? " (const)" : "");
      cells.computes.textContent = data.formulas[k];
      view.rows.push({ tr, cells });
    });
    const vbody = $("varstab").tBodies[0];
    vbody.replaceChildren();
    data.vars.forEach((v) => {
      const tr = vbody.insertRow();
      tr.id = "var-" + v.name;
      const name = tr.insertCell();
      name.className = "name";
      name.textContent = v.name;
      const value = tr.insertCell();
      value.className = "value";
      value.appendChild(num(v.value, 6, "fwd"));
      const grad = tr.insertCell();
      grad.className = "grad";
      view.varRows.push({ tr, grad });
    });
  }

  function setText(el, v, shown, digits) {
    el.textContent = shown ? fmt(v, digits) : "";
    if (shown) el.dataset.v = v === null ? "NaN" : String(v);
    else delete el.dataset.v;
  }

  // constMark stands where a literal's gradient would be: a constant has
  // none to show (the engine's number for the 2 of (x+y)^2 is NaN when
  // x+y < 0, and means nothing anyway).
  function constMark() {
    const s = document.createElement("span");
    s.className = "const-mark";
    s.textContent = "const";
    s.title = "a literal: a constant has no gradient";
    return s;
  }

  // setCell shows values, one per input of node when given, with
  // constMark for the inputs that are literals.
  function setCell(td, values, shown, cls, node) {
    td.replaceChildren();
    if (!shown) return;
    values.forEach((v, i) => {
      if (i > 0) td.appendChild(document.createTextNode(", "));
      td.appendChild(node && node.inputs[i].kind === "const" ? constMark() : num(v, 6, cls));
    });
  }

  // varGrad is a variable's gradient after backward tick `tick`, or
  // undefined before any of its uses has been reached.
  function varGrad(v, tick) {
    let g;
    for (const s of v.sums) if (s.tick <= tick) g = s.sum;
    return g;
  }

  function render() {
    const last = 2 * N + 1;
    const F = Math.min(frame, N);
    const tick = frame - N - 1;
    const fwdCur = frame >= 1 && frame <= N ? frame - 1 : -1;
    const bwdCur = tick >= 1 ? N - tick : -1;

    for (const { e, g, val, grad, src } of view.edges) {
      const value = e.step >= 0 ? nodes[e.step].inputs[e.input].value : data.result.value;
      const valShown = src.kind !== "op" || src.step < F;
      const gvalue = e.step >= 0 ? nodes[e.step].grad[e.input] : 1;
      const gradShown = e.step >= 0 ? tick >= N - e.step : tick >= 0;
      setText(val, value, valShown, 4);
      if (src.kind === "const" && e.step >= 0) {
        grad.textContent = gradShown ? "const" : "";
        delete grad.dataset.v;
        grad.classList.add("const-mark");
      } else {
        setText(grad, gvalue, gradShown, 4);
      }
      const current = (fwdCur >= 0 && src.kind === "op" && src.step === fwdCur) ||
        (bwdCur >= 0 && e.step === bwdCur) || (tick === 0 && e.step === -1);
      g.classList.toggle("current", current);
      g.classList.toggle("fwd-cur", current && tick < 0);
      g.classList.toggle("bwd-cur", current && tick >= 0);
    }
    for (const el of view.vertices.values()) {
      const v = el.v;
      if (v.kind === "op") {
        el.g.classList.toggle("fwd-done", v.step < F);
        el.g.classList.toggle("bwd-done", tick >= N - v.step);
        el.g.classList.toggle("current", v.step === fwdCur || v.step === bwdCur);
      } else if (v.kind === "var") {
        const info = data.vars[v.var];
        setText(el.val, info.value, true, 4);
        const g = varGrad(info, tick);
        setText(el.grad, g, g !== undefined, 4);
      } else if (v.kind === "out") {
        el.g.classList.toggle("current", tick === 0);
      }
    }
    view.rows.forEach(({ tr, cells }, k) => {
      const node = nodes[k];
      const done = tick >= N - k;
      setCell(cells.value, [node.value], k < F, "fwd");
      setCell(cells.local, node.local, done, "", node);
      setCell(cells.upstream, [node.upstream], done, "bwd");
      setCell(cells.grad, node.grad, done, "bwd", node);
      tr.classList.toggle("current", k === fwdCur || k === bwdCur);
    });
    view.varRows.forEach(({ tr, grad }, i) => {
      const g = varGrad(data.vars[i], tick);
      setCell(grad, [g], g !== undefined, "bwd");
      tr.classList.toggle("final", frame === last);
    });

    explain(F, tick, fwdCur, bwdCur);

    const st = $("stepper");
    st.dataset.frame = frame;
    st.dataset.frames = last + 1;
    st.dataset.busy = timer ? "1" : "0";
    let phase = "inputs";
    if (frame >= 1 && frame <= N) phase = `forward ${frame}/${N}`;
    else if (tick >= 0) phase = `backward ${tick + 1}/${N + 1}`;
    $("position").textContent = `${phase} · step ${frame} of ${last}`;
    $("prev").disabled = frame === 0;
    $("next").disabled = frame === last;
    $("reset").disabled = frame === 0;
  }

  function explain(F, tick, fwdCur, bwdCur) {
    const box = $("explain");
    box.replaceChildren();
    const line = (...parts) => {
      const p = document.createElement("p");
      for (const part of parts) p.append(part);
      box.appendChild(p);
      return p;
    };
    const b = (s) => {
      const el = document.createElement("b");
      el.textContent = s;
      return el;
    };
    if (frame === 0) {
      const at = data.vars.map((v) => `${v.name} = ${fmt(v.value, 6)}`).join(", ");
      line(at ? `Inputs: ${at}. ` : "No variables. ",
        N > 0 ? "Next (→) or Forward runs the forward pass, one node at a time." : "Next (→) starts the backward pass.");
      return;
    }
    if (fwdCur >= 0) {
      const node = nodes[fwdCur];
      const p = line(b(node.id), ` = ${data.formulas[fwdCur]} = ${withValues(node)} = `, num(node.value, 6, "fwd value"));
      p.className = "fwd-step";
      if (fwdCur === N - 1) line("The forward pass is done: f = ", num(data.result.value, 6, "fwd"), ". Next (→) or Backward starts the backward pass.");
      return;
    }
    if (tick === 0) {
      line("The backward pass starts at the output: ", b("∂f/∂f = 1"),
        N > 0 ? `. Next, ${nodes[N - 1].id} turns it into gradients for its inputs.` : ".");
    } else if (bwdCur >= 0) {
      const node = nodes[bwdCur];
      line(b(node.id), ` = ${data.formulas[bwdCur]}; upstream gradient ∂f/∂${node.id} = `, num(node.upstream, 6, "bwd upstream"));
      node.inputs.forEach((inp, i) => {
        if (inp.kind === "const") {
          line(`${inp.name} is a constant: it has no gradient, and nothing to update.`).className = "bwd-step const-step";
          return;
        }
        const p = line(`∂f/∂${inp.name} = ∂${node.id}/∂${inp.name} × ∂f/∂${node.id} = `,
          num(node.local[i], 6, "local"), " × ", num(node.upstream, 6, "bwd"), " = ", num(node.grad[i], 6, "bwd grad"));
        p.className = "bwd-step";
        if (inp.kind === "var" && data.vars.find((v) => v.name === inp.name).sums.length > 1) {
          p.append(` (one of several uses of ${inp.name}: the gradients add up)`);
        }
      });
    }
    if (frame === 2 * N + 1) {
      const parts = ["Done. f = ", num(data.result.value, 6, "fwd")];
      data.vars.forEach((v) => parts.push(`, ∂f/∂${v.name} = `, num(v.grad, 6, "bwd")));
      line(...parts, ".");
    }
  }

  // ---- stepping ----------------------------------------------------------

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
  }

  function go(f) {
    if (!data) return;
    stop();
    frame = Math.max(0, Math.min(2 * N + 1, f));
    render();
  }

  // play moves to frame `to` one frame per stepMs.
  function play(to) {
    stop();
    if (stepMs === 0 || frame >= to) {
      go(to);
      return;
    }
    timer = setInterval(() => {
      frame++;
      if (frame >= to) stop();
      render();
    }, stepMs);
    render();
  }

  function forward() {
    if (!data) return;
    if (frame >= N) go(0);
    play(N);
  }

  function backward() {
    if (!data) return;
    if (frame < N || frame >= 2 * N + 1) go(N);
    play(2 * N + 1);
  }

  // ---- talking to the server ----------------------------------------------

  function showError(field, msg, col) {
    const exprErr = $("expr-error"), varsErr = $("vars-error"), caret = $("expr-caret");
    exprErr.textContent = "";
    varsErr.textContent = "";
    caret.textContent = "";
    delete exprErr.dataset.col;
    $("expr").classList.remove("invalid");
    $("vars").classList.remove("invalid");
    if (!msg) return;
    if (field === "vars") {
      varsErr.textContent = msg;
      $("vars").classList.add("invalid");
      return;
    }
    exprErr.textContent = msg;
    $("expr").classList.add("invalid");
    if (col > 0) {
      exprErr.dataset.col = col;
      caret.textContent = " ".repeat(col - 1) + "^";
    }
  }

  function clearGraph(message) {
    stop();
    data = null;
    view = null;
    $("graph").replaceChildren();
    $("graph").setAttribute("width", 0);
    $("graph").setAttribute("height", 0);
    $("steps").tBodies[0].replaceChildren();
    $("varstab").tBodies[0].replaceChildren();
    $("explain").textContent = message;
    $("position").textContent = "";
    for (const id of ["prev", "next", "reset", "forward", "backward"]) $(id).disabled = true;
    $("stepper").dataset.frame = "";
    $("stepper").dataset.frames = "0";
    document.body.classList.add("empty");
  }

  async function draw() {
    const seq = ++requestSeq;
    const expr = $("expr").value, vars = $("vars").value;
    $("stepper").dataset.loading = "1";
    let resp, body;
    try {
      resp = await fetch("/api/grad", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ expr, vars }),
      });
      body = await resp.json();
    } catch (err) {
      if (seq !== requestSeq) return;
      showError("expr", "cannot reach the server: " + err.message, 0);
      clearGraph("");
      $("stepper").dataset.loading = "0";
      return;
    }
    if (seq !== requestSeq) return; // a newer request is on its way
    $("stepper").dataset.loading = "0";
    if (!resp.ok) {
      showError(body.field || "expr", body.error || resp.statusText, body.col || 0);
      clearGraph("Fix the " + (body.field === "vars" ? "values" : "expression") + " to draw the circuit.");
      return;
    }
    showError();
    stop();
    data = body;
    nodes = data.result.nodes;
    N = nodes.length;
    frame = 0;
    document.body.classList.remove("empty"); // before build, which measures the page
    build();
    for (const id of ["forward", "backward"]) $(id).disabled = false;
    $("forward").disabled = N === 0;
    render();
    history.replaceState(null, "", "#" + new URLSearchParams({ expr, vars }).toString());
  }

  function init() {
    $("input").addEventListener("submit", (ev) => {
      ev.preventDefault();
      draw();
    });
    for (const btn of document.querySelectorAll("button.example")) {
      btn.addEventListener("click", () => {
        $("expr").value = btn.dataset.expr;
        $("vars").value = btn.dataset.vars;
        draw();
      });
    }
    $("prev").addEventListener("click", () => go(frame - 1));
    $("next").addEventListener("click", () => go(frame + 1));
    $("reset").addEventListener("click", () => go(0));
    $("forward").addEventListener("click", forward);
    $("backward").addEventListener("click", backward);
    document.addEventListener("keydown", (ev) => {
      const t = ev.target;
      if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
      if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) return;
      const to = { ArrowRight: frame + 1, ArrowLeft: frame - 1, Home: 0, End: 2 * N + 1 }[ev.key];
      if (to === undefined || !data) return;
      ev.preventDefault();
      go(to);
    });
    const hash = new URLSearchParams(location.hash.slice(1));
    if (hash.has("expr")) {
      $("expr").value = hash.get("expr");
      $("vars").value = hash.get("vars") || "";
    }
    clearGraph("");
    draw();
  }

  init();
})();
