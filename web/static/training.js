// The training page: follows a run through /api/training/events and draws
// it. The server computes everything; this script only keeps the events
// and draws the curves, the progress and the test images' scores.
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  const FINAL = new Set(["finished", "interrupted", "failed"]);

  // Everything received, as the server sent it. A "run" event starts over:
  // it comes first on every (re)connection, followed by the run so far.
  let run = null, points = [], epochs = [], status = null, scores = null, sample = null;

  // Events can arrive by the thousand (a late page gets the whole run);
  // draw at most every 50 ms.
  let pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    setTimeout(() => { pending = false; render(); }, 50);
  }

  function connect() {
    const es = new EventSource("/api/training/events");
    const on = (kind, fn) => es.addEventListener(kind, (e) => { fn(JSON.parse(e.data)); schedule(); });
    on("run", (r) => {
      run = r; points = []; epochs = []; status = null; scores = null; sample = null;
      // A language model's run has no classes or images: its page shows
      // the loss against the step and a sample of its text instead.
      document.body.classList.toggle("text", !!r.text);
      if (r.text) $("images").replaceChildren(); else buildImages();
    });
    on("point", (p) => points.push(p));
    on("epoch", (m) => { epochs = epochs.filter((e) => e.epoch !== m.epoch); epochs.push(m); });
    on("scores", (s) => { scores = s; });
    on("sample", (s) => { sample = s; });
    on("status", (s) => {
      status = s;
      // The run is over and the server has sent everything: stop, rather
      // than reconnect when the server goes.
      if (FINAL.has(s.state)) es.close();
    });
    es.onerror = () => {
      if (status && FINAL.has(status.state)) return;
      setState(es.readyState === EventSource.CLOSED ? "disconnected" : "reconnecting",
        es.readyState === EventSource.CLOSED ? "disconnected" : "connection lost, retrying…");
    };
  }

  // ---- formatting ----

  const pct = (v) => (v == null ? "–" : (100 * v).toFixed(2) + "%");
  const fix = (v, d) => (v == null ? "–" : v.toFixed(d));
  const sig = (v) => (v == null ? "–" : Number(v.toPrecision(3)).toString());
  const thousands = (v) => (v == null ? "–" : Math.round(v).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ","));

  function setState(state, text) {
    document.body.dataset.state = state;
    const el = $("state");
    el.textContent = text;
    el.className = "pill " + state;
  }

  function el(tag, attrs, parent, text) {
    const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text != null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }

  // ---- drawing ----

  function render() {
    if (!run) return;
    document.title = "backprop training: " + run.title;
    $("title").textContent = "Training " + run.title;
    $("describe").textContent = `${thousands(run.params)} parameters · ${run.describe} · ` +
      `${thousands(run.train_examples)} training and ${thousands(run.test_examples)} test examples`;
    renderStatus();
    renderProgress();
    renderCharts();
    if (run.text) renderSample(); else renderScores();
    renderEpochs();
  }

  function lastTest() {
    return epochs.length ? epochs[epochs.length - 1] : null;
  }

  function renderStatus() {
    const s = status;
    $("error").textContent = s && s.error ? s.error : "";
    if (!s) return setState("connecting", "connecting");
    const test = lastTest();
    if (run.text) {
      switch (s.state) {
        case "ready": return setState("ready", "about to train");
        case "training": return setState("training", `training: step ${s.step} of ${s.batches}`);
        case "finished":
          return setState("finished", `finished: ${s.step} steps` + (test ? `, validation loss ${fix(test.test_loss, 4)}` : ""));
        case "interrupted": return setState("interrupted", `interrupted after ${s.step} steps`);
        case "failed": return setState("failed", "failed");
      }
      return setState(s.state, s.state);
    }
    switch (s.state) {
      case "ready": return setState("ready", "about to train");
      case "training": return setState("training", `training: epoch ${s.epoch} of ${s.epochs}`);
      case "evaluating": return setState("evaluating", `evaluating the test set after epoch ${s.epoch}`);
      case "finished":
        return setState("finished", `finished: ${s.epoch} epochs` + (test ? `, test accuracy ${pct(test.test_acc)}` : ""));
      case "interrupted": return setState("interrupted", `interrupted after ${s.epoch} epochs and ${s.step} steps`);
      case "failed": return setState("failed", "failed");
    }
    setState(s.state, s.state);
  }

  function renderProgress() {
    const p = points.length ? points[points.length - 1] : null;
    const s = status;
    const total = run.epochs * run.batches;
    let epoch = Math.min(run.start_epoch + 1, run.epochs), batch = 0, done = run.start_epoch * run.batches;
    if (p) { epoch = p.epoch; batch = p.batch; done = (p.epoch - 1) * run.batches + p.batch; }
    if (s && s.state === "finished") done = total;
    const rp = $("run-progress"), ep = $("epoch-progress");
    rp.max = total; rp.value = Math.min(done, total);
    ep.max = run.batches; ep.value = batch;
    $("run-text").textContent = run.text ? `step ${p ? p.step : run.start_step} of ${run.batches}` : `epoch ${epoch} of ${run.epochs}`;
    $("ips-label").textContent = run.text ? "tokens/s" : "images/s";
    $("loss-label").textContent = run.text ? "train loss (step)" : "train loss (epoch)";
    $("epoch-text").textContent = `batch ${batch} of ${run.batches}`;
    $("stat-step").textContent = p ? thousands(p.step) : (s ? thousands(s.step) : "–");
    $("stat-ips").textContent = p ? thousands(p.images_per_s) : "–";
    $("stat-lr").textContent = p ? sig(p.lr) : "–";
    $("stat-loss").textContent = p ? fix(p.epoch_loss, 4) : "–";
    $("stat-acc").textContent = p ? pct(p.epoch_acc) : "–";
    const t = lastTest();
    $("stat-test").textContent = t ? `${pct(t.test_acc)} (epoch ${t.epoch})` : "–";
  }

  // niceTicks returns round values spanning [lo, hi], about n of them.
  function niceTicks(lo, hi, n) {
    const span = hi - lo || 1;
    const raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const out = [];
    for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * span; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  }

  // chart draws series of [x, y] points on an SVG: x from 0 to xmax
  // epochs, y from ylo to yhi. Each series is a line (train) or a line
  // through dots (test, one per epoch).
  function chart(svg, series, xmax, ylo, yhi, yfmt, xname) {
    svg.replaceChildren();
    const W = 560, H = 280, L = 52, R = 14, T = 10, B = 34;
    const X = (x) => L + (x / xmax) * (W - L - R);
    const Y = (y) => T + (1 - (y - ylo) / (yhi - ylo)) * (H - T - B);
    const grid = el("svg:g", { class: "grid" }, svg);
    for (const v of niceTicks(ylo, yhi, 5)) {
      el("svg:line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v) }, grid);
      el("svg:text", { x: L - 6, y: Y(v) + 4, class: "ylab" }, grid, yfmt(v));
    }
    const every = Math.max(1, Math.ceil(xmax / 10));
    for (let e = 0; e <= xmax; e += every) {
      el("svg:line", { x1: X(e), x2: X(e), y1: T, y2: H - B, class: "v" }, grid);
      el("svg:text", { x: X(e), y: H - B + 16, class: "xlab" }, grid, String(e));
    }
    el("svg:text", { x: (L + W - R) / 2, y: H - 4, class: "axis" }, grid, xname || "epoch");
    el("svg:rect", { x: L, y: T, width: W - L - R, height: H - T - B, class: "frame" }, svg);
    for (const s of series) {
      const pts = s.pts.filter(([, y]) => y != null && isFinite(y));
      const g = el("svg:g", { class: "series " + s.cls }, svg);
      g.dataset.n = String(pts.length);
      if (pts.length > 1 || (pts.length && !s.dots)) {
        el("svg:polyline", { points: pts.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(" ") }, g);
      }
      // A line of one point would not show: draw that point.
      if (s.dots || pts.length === 1) {
        for (const [x, y] of pts) el("svg:circle", { cx: X(x).toFixed(1), cy: Y(y).toFixed(1), r: s.dots ? 3.5 : 2 }, g);
      }
    }
  }

  function renderCharts() {
    // A text run's x is the step (its evaluations come keyed by step).
    const xOf = run.text ? (p) => p.step : (p) => p.epoch - 1 + p.batch / p.batches;
    const xmax = Math.max(run.text ? run.batches : run.epochs, 1);
    $("test-key").textContent = run.text ? "validation" : "test";
    const trainLoss = points.map((p) => [xOf(p), p.loss]);
    const testLoss = epochs.map((m) => [m.epoch, m.test_loss]);
    let hi = 0;
    for (const [, y] of trainLoss.concat(testLoss)) if (y != null && isFinite(y)) hi = Math.max(hi, y);
    hi = hi > 0 ? hi * 1.05 : 1;
    chart($("loss-chart"), [{ cls: "train", pts: trainLoss }, { cls: "test", pts: testLoss, dots: true }],
      xmax, 0, hi, (v) => sig(v), run.text ? "step" : "epoch");
    $("loss-chart").dataset.train = String(trainLoss.length);
    $("loss-chart").dataset.test = String(testLoss.length);

    const trainAcc = points.map((p) => [xOf(p), p.acc == null ? null : 100 * p.acc]);
    const testAcc = epochs.map((m) => [m.epoch, m.test_acc == null ? null : 100 * m.test_acc]);
    let lo = 100;
    for (const [, y] of trainAcc.concat(testAcc)) if (y != null) lo = Math.min(lo, y);
    lo = Math.max(0, Math.min(90, Math.floor((lo - 2) / 10) * 10));
    chart($("acc-chart"), [{ cls: "train", pts: trainAcc }, { cls: "test", pts: testAcc, dots: true }],
      xmax, lo, 100, (v) => v + "%");
    $("acc-chart").dataset.train = String(trainAcc.length);
    $("acc-chart").dataset.test = String(testAcc.length);
  }

  // buildImages draws the test images once per run and lays out their
  // score bars, which renderScores then fills.
  function buildImages() {
    const box = $("images");
    box.replaceChildren();
    const names = run.classes;
    const labelW = 8 + 7.5 * Math.max(...names.map((n) => n.length));
    const rowH = 15, W = 190, H = rowH * names.length + 2;
    run.images.forEach((im, i) => {
      const card = el("div", { class: "card" }, box);
      card.dataset.label = String(im.label);
      card.dataset.index = String(im.index);
      const top = el("div", { class: "top" }, card);
      if (im.pixels) {
        const [c, h, w] = im.shape;
        const cv = el("canvas", { width: w, height: h, class: "digit" }, top);
        const bytes = Uint8Array.from(atob(im.pixels), (ch) => ch.charCodeAt(0));
        const img = cv.getContext("2d").createImageData(w, h);
        for (let p = 0; p < w * h; p++) {
          const r = bytes[p], g = c === 3 ? bytes[w * h + p] : r, b = c === 3 ? bytes[2 * w * h + p] : r;
          img.data.set([r, g, b, 255], 4 * p);
        }
        cv.getContext("2d").putImageData(img, 0, 0);
      }
      const cap = el("div", { class: "caption" }, top);
      el("div", {}, cap, `test image ${im.index}`);
      const lab = el("div", {}, cap, "label ");
      el("b", {}, lab, names[im.label] ?? String(im.label));
      el("div", { class: "pred" }, cap, "");
      const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, class: "scores" }, card);
      names.forEach((name, k) => {
        const y = 1 + k * rowH;
        const row = el("svg:g", { class: "row" + (k === im.label ? " true" : "") }, svg);
        row.dataset.class = String(k);
        el("svg:text", { x: labelW - 6, y: y + 11, class: "name" }, row, name);
        el("svg:rect", { x: labelW, y: y + 2, width: W - labelW - 46, height: rowH - 4, class: "track" }, row);
        el("svg:rect", { x: labelW, y: y + 2, width: 0, height: rowH - 4, class: "bar" }, row);
        el("svg:text", { x: W - 2, y: y + 11, class: "p" }, row, "");
      });
      card.dataset.i = String(i);
    });
  }

  function renderScores() {
    const cards = document.querySelectorAll("#images .card");
    const names = run.classes;
    cards.forEach((card, i) => {
      const probs = scores && scores.probs[i];
      if (!probs) return;
      let best = 0;
      probs.forEach((p, k) => { if ((p ?? -1) > (probs[best] ?? -1)) best = k; });
      const label = Number(card.dataset.label);
      card.classList.toggle("right", best === label);
      card.classList.toggle("wrong", best !== label);
      card.dataset.pred = String(best);
      card.querySelector(".pred").textContent = `predicted ${names[best]} (${pct(probs[best])})`;
      card.querySelectorAll("g.row").forEach((row, k) => {
        const p = probs[k];
        const track = row.querySelector("rect.track"), bar = row.querySelector("rect.bar");
        const full = Number(track.getAttribute("width"));
        bar.setAttribute("width", p == null ? 0 : (full * p).toFixed(2));
        bar.dataset.p = p == null ? "NaN" : String(p);
        row.classList.toggle("pred", k === best);
        row.querySelector("text.p").textContent = p == null ? "–" : (100 * p).toFixed(1) + "%";
      });
    });
    const box = $("images");
    box.dataset.step = scores ? String(scores.step) : "";
  }

  function renderSample() {
    $("sample").textContent = sample ? (sample.error ? "(" + sample.error + ")" : sample.text) : "";
    $("sample-step").textContent = sample ? thousands(sample.step) : "–";
    $("sample-box").dataset.step = sample ? String(sample.step) : "";
  }

  function renderEpochs() {
    $("epochs-title").textContent = run.text ? "Evaluations" : "Epochs";
    $("epochs-key").textContent = run.text ? "step" : "epoch";
    const tb = $("epochs").querySelector("tbody");
    tb.replaceChildren();
    for (const m of epochs) {
      const tr = el("tr", {}, tb);
      for (const v of [String(m.epoch), fix(m.train_loss, 4), pct(m.train_acc), fix(m.test_loss, 4),
        pct(m.test_acc), fix(m.seconds, 1), thousands(m.images_per_s), sig(m.lr)]) {
        el("td", { class: "num" }, tr, v);
      }
    }
  }

  connect();
})();
