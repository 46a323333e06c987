package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gobackprop/backprop/expr"
)

// These tests drive the page in headless Chromium: they type, click and
// press keys as a person would, and read the numbers back from the DOM.
// In CI (CI set in the environment) a missing Chromium fails them;
// elsewhere they skip. .ci/install-chromium.sh installs it.

// chromiumPath finds Chromium: $CHROMIUM, then the usual names.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// One browser serves all the tests, each in its own tab.
var browser struct {
	once    sync.Once
	ctx     context.Context
	cancel  func()
	dataDir string
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	noticeSkippedBrowserTests()
	if browser.cancel != nil {
		browser.cancel()
	}
	if browser.dataDir != "" {
		// Chromium's helpers may still be writing as it exits.
		for range 50 {
			if os.RemoveAll(browser.dataDir) == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	os.Exit(code)
}

func startBrowser(path string) {
	dir, err := os.MkdirTemp("", "backprop-web-chromium-")
	if err != nil {
		browser.err = err
		return
	}
	browser.dataDir = dir
	// The machine may have no network: keep Chromium from trying to reach
	// it (updates, sync, QUIC probes), and give it a fresh profile.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	browser.ctx = ctx
	browser.cancel = func() { cancelCtx(); cancelAlloc() }
	// Not under a timeout: the context of the first Do owns the browser,
	// and ending it would end the browser.
	browser.err = chromedp.Do(ctx)
}

// problems collects what goes wrong inside the page: exceptions, console
// errors, blocked resources (a Content-Security-Policy violation).
type problems struct {
	mu   sync.Mutex
	list []string
}

func (p *problems) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, s)
}

func (p *problems) get() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.list...)
}

// page is one tab on a fresh explorer server.
type page struct {
	t    *testing.T
	ctx  context.Context
	url  string
	errs *problems
}

func newPage(t *testing.T) *page {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("Chromium is not installed, and CI needs the browser tests: run .ci/install-chromium.sh (or set CHROMIUM to its path)")
		}
		t.Skip("skipping browser test: Chromium not found (install Debian's chromium, e.g. with .ci/install-chromium.sh, or set CHROMIUM)")
	}
	browser.once.Do(func() { startBrowser(path) })
	if browser.err != nil {
		t.Fatalf("starting Chromium (%s): %v", path, browser.err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := testServer(t, Options{})
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(sctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	tab, cancelTab := chromedp.NewContext(browser.ctx)
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	t.Cleanup(func() { cancel(); cancelTab() })

	// A 400 from the API is logged as a failed resource; the page handles it.
	p := &page{t: t, ctx: ctx, url: "http://" + ln.Addr().String() + "/", errs: watchPage(ctx, true)}
	t.Cleanup(func() {
		for _, e := range p.errs.get() {
			t.Errorf("in the page: %s", e)
		}
	})
	return p
}

func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("browser: %v", err)
	}
}

// open loads the page (query is added to the URL) and waits until it has
// drawn its first expression.
func (p *page) open(query string) {
	p.t.Helper()
	p.do(chromedp.Navigate(p.url + query))
	p.waitDrawn()
}

// waitDrawn waits until no request is in flight and no animation runs.
func (p *page) waitDrawn() {
	p.t.Helper()
	p.poll(`(() => { const d = document.getElementById("stepper").dataset;
		return d.loading === "0" && d.busy !== "1"; })()`)
}

func (p *page) poll(js string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		p.t.Fatalf("waiting for %s: %v", js, err)
	}
}

// enter types an expression and values into the boxes, as a person would,
// and presses Draw.
func (p *page) enter(src, vars string) {
	p.t.Helper()
	p.do(
		// chromedp.Clear sets the value attribute, which no longer counts
		// once the box has been typed in: empty the boxes themselves.
		chromedp.Evaluate[chromedp.Void](`document.getElementById("expr").value = document.getElementById("vars").value = ""`),
		chromedp.SendKeys(chromedp.ID("expr"), src),
		chromedp.SendKeys(chromedp.ID("vars"), vars),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("stepper").dataset.loading = "1"`),
		chromedp.Click(chromedp.ID("draw")),
	)
	p.waitDrawn()
}

func (p *page) click(id string) {
	p.t.Helper()
	p.do(chromedp.Click(chromedp.ID(id)))
}

func (p *page) key(k string) {
	p.t.Helper()
	p.do(chromedp.KeyEvent(k))
}

func (p *page) screenshot(name string) {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	for _, path := range []string{filepath.Join(p.t.TempDir(), name), filepath.Join(os.TempDir(), name)} {
		if err := os.WriteFile(path, png, 0o644); err != nil {
			p.t.Errorf("saving the screenshot: %v", err)
		}
	}
	p.t.Logf("screenshot: %s", filepath.Join(os.TempDir(), name))
}

// shown is a number as the page shows it: the text, and the exact value
// from data-v.
type shown struct {
	Text string `json:"text"`
	V    string `json:"v"`
}

type shownRow struct {
	ID       string  `json:"id"`
	Value    []shown `json:"value"`
	Local    []shown `json:"local"`
	Upstream []shown `json:"upstream"`
	Grad     []shown `json:"grad"`
	Current  bool    `json:"current"`
}

type shownEdge struct {
	Step  int     `json:"step"`
	Input int     `json:"input"`
	Val   *shown  `json:"val"`
	Grad  *shown  `json:"grad"`
	Cur   bool    `json:"cur"`
	LX    float64 `json:"lx"`
}

type shownVar struct {
	Name    string  `json:"name"`
	Value   []shown `json:"value"`
	Grad    []shown `json:"grad"`
	BoxVal  *shown  `json:"boxVal"`
	BoxGrad *shown  `json:"boxGrad"`
}

// pageState is everything the page shows, read from the DOM.
type pageState struct {
	Frame   int         `json:"frame"`
	Frames  int         `json:"frames"`
	Rows    []shownRow  `json:"rows"`
	Vars    []shownVar  `json:"vars"`
	Edges   []shownEdge `json:"edges"`
	Explain string      `json:"explain"`
	Title   string      `json:"title"`
}

const readState = `(() => {
	const nums = (el) => el ? Array.from(el.querySelectorAll(".num, .const-mark")).map(s =>
		({text: s.textContent, v: s.classList.contains("const-mark") ? "const" : s.dataset.v})) : [];
	const txt = (el) => el && el.textContent !== "" ?
		{text: el.textContent, v: el.classList.contains("const-mark") ? "const" : el.dataset.v} : null;
	const d = document.getElementById("stepper").dataset;
	const title = document.querySelector("#graph > title");
	return {
		frame: Number(d.frame), frames: Number(d.frames),
		rows: Array.from(document.querySelectorAll("#steps tbody tr")).map(tr => ({
			id: tr.querySelector("td.id").textContent,
			value: nums(tr.querySelector("td.value")), local: nums(tr.querySelector("td.local")),
			upstream: nums(tr.querySelector("td.upstream")), grad: nums(tr.querySelector("td.grad")),
			current: tr.classList.contains("current")})),
		vars: Array.from(document.querySelectorAll("#varstab tbody tr")).map(tr => {
			const name = tr.querySelector("td.name").textContent;
			const box = document.getElementById("vx-v_" + name);
			return {name, value: nums(tr.querySelector("td.value")), grad: nums(tr.querySelector("td.grad")),
				boxVal: txt(box.querySelector("text.val")), boxGrad: txt(box.querySelector("text.grad"))};
		}),
		edges: Array.from(document.querySelectorAll("#graph g.edge")).map(g => ({
			step: Number(g.dataset.step), input: Number(g.dataset.input),
			val: txt(g.querySelector("text.val")), grad: txt(g.querySelector("text.grad")),
			cur: g.classList.contains("current"), lx: Number(g.querySelector("text.val").getAttribute("x"))})),
		explain: document.getElementById("explain").innerText,
		title: title ? title.textContent : "",
	};
})()`

func (p *page) state() *pageState {
	p.t.Helper()
	st, err := chromedp.Run(p.ctx, chromedp.Evaluate[*pageState](readState))
	if err != nil {
		p.t.Fatalf("reading the page: %v", err)
	}
	return st
}

// checkNum checks one number shown against the engine's: data-v exactly
// (the page shows what the server sent), and the text to the digits
// shown.
func checkNum(t *testing.T, where string, got shown, want float64) {
	t.Helper()
	if math.IsNaN(want) || math.IsInf(want, 0) {
		if got.V != "NaN" {
			t.Errorf("%s: shows %+v, want NaN (the engine's %v)", where, got, want)
		}
		return
	}
	v, err := strconv.ParseFloat(got.V, 64)
	if err != nil || v != want {
		t.Errorf("%s: data-v %q, want the engine's %v", where, got.V, want)
	}
	t2, err := strconv.ParseFloat(strings.Replace(got.Text, "−", "-", 1), 64)
	if err != nil || math.Abs(t2-want) > 5e-4*math.Max(math.Abs(want), 1e-300) {
		t.Errorf("%s: shows %q, want about %v", where, got.Text, want)
	}
}

func checkNums(t *testing.T, where string, got []shown, want []float64, visible bool) {
	t.Helper()
	if !visible {
		if len(got) != 0 {
			t.Errorf("%s: shows %v before its time", where, got)
		}
		return
	}
	if len(got) != len(want) {
		t.Errorf("%s: shows %v, want %v", where, got, want)
		return
	}
	for i := range want {
		checkNum(t, fmt.Sprintf("%s[%d]", where, i), got[i], want[i])
	}
}

// checkGrads checks a step's gradients toward its inputs: the engine's
// numbers, and "const" for every literal, which has no gradient to show.
func checkGrads(t *testing.T, where string, got []shown, step expr.Step, want []float64, visible bool) {
	t.Helper()
	if !visible || len(got) != len(want) {
		checkNums(t, where, got, want, visible)
		return
	}
	for i := range want {
		w := fmt.Sprintf("%s[%d]", where, i)
		if step.Inputs[i].Kind == expr.FromConst {
			checkConst(t, w, got[i])
		} else {
			checkNum(t, w, got[i], want[i])
		}
	}
}

func checkConst(t *testing.T, where string, got shown) {
	t.Helper()
	if got.V != "const" || got.Text != "const" {
		t.Errorf("%s: shows %+v, want the mark const (a literal has no gradient)", where, got)
	}
}

// checkFrame checks everything shown at frame f against the engine's
// result: the table, the wires' labels and the variables.
func checkFrame(t *testing.T, st *pageState, res *expr.Result, f int) {
	t.Helper()
	n := len(res.Steps)
	if st.Frame != f || st.Frames != 2*n+2 {
		t.Fatalf("page at frame %d of %d, want %d of %d", st.Frame, st.Frames, f, 2*n+2)
	}
	if len(st.Rows) != n || len(st.Vars) != len(res.Vars) {
		t.Fatalf("page shows %d nodes and %d variables, want %d and %d", len(st.Rows), len(st.Vars), n, len(res.Vars))
	}
	fwd := min(f, n)
	tick := f - n - 1
	for k, step := range res.Steps {
		row := st.Rows[k]
		where := fmt.Sprintf("frame %d, %s", f, step.ID)
		if row.ID != step.ID {
			t.Errorf("%s: row says %q", where, row.ID)
		}
		checkNums(t, where+" value", row.Value, []float64{step.Value}, k < fwd)
		done := tick >= n-k
		checkGrads(t, where+" local", row.Local, step, step.Local, done)
		checkNums(t, where+" upstream", row.Upstream, []float64{step.Upstream}, done)
		checkGrads(t, where+" gradient", row.Grad, step, step.Grad, done)
		wantCur := k == f-1 || (tick >= 1 && k == n-tick)
		if row.Current != wantCur {
			t.Errorf("%s: current %v, want %v", where, row.Current, wantCur)
		}
	}
	for _, e := range st.Edges {
		where := fmt.Sprintf("frame %d, wire into step %d input %d", f, e.Step, e.Input)
		var val, grad float64
		valShown, gradShown := true, tick >= 0
		if e.Step < 0 {
			val, grad = res.Value, 1
			if res.Out.Kind == expr.FromNode {
				valShown = res.Out.Step < fwd
			}
		} else {
			step := res.Steps[e.Step]
			in := step.Inputs[e.Input]
			val, grad = in.Value, step.Grad[e.Input]
			if in.Kind == expr.FromNode {
				valShown = in.Step < fwd
			}
			gradShown = tick >= n-e.Step
		}
		if (e.Val != nil) != valShown || (e.Grad != nil) != gradShown {
			t.Errorf("%s: value shown %v, gradient shown %v; want %v, %v", where, e.Val != nil, e.Grad != nil, valShown, gradShown)
			continue
		}
		if e.Val != nil {
			checkNum(t, where+" value", *e.Val, val)
		}
		if e.Grad != nil {
			if e.Step >= 0 && res.Steps[e.Step].Inputs[e.Input].Kind == expr.FromConst {
				checkConst(t, where+" gradient", *e.Grad)
			} else {
				checkNum(t, where+" gradient", *e.Grad, grad)
			}
		}
	}
	for i, v := range res.Vars {
		sv := st.Vars[i]
		if sv.Name != v.Name {
			t.Errorf("variable %d is %q, want %q", i, sv.Name, v.Name)
		}
		checkNums(t, "value of "+v.Name, sv.Value, []float64{v.Value}, true)
		if sv.BoxVal == nil {
			t.Errorf("frame %d: the box of %s shows no value", f, v.Name)
		} else {
			checkNum(t, "box of "+v.Name, *sv.BoxVal, v.Value)
		}
		if f == 2*n+1 {
			checkNums(t, fmt.Sprintf("frame %d, df/d%s", f, v.Name), sv.Grad, []float64{v.Grad}, true)
			if sv.BoxGrad == nil {
				t.Errorf("the box of %s shows no gradient at the end", v.Name)
			} else {
				checkNum(t, "box gradient of "+v.Name, *sv.BoxGrad, v.Grad)
			}
		}
		if f <= n && (len(sv.Grad) != 0 || sv.BoxGrad != nil) {
			t.Errorf("frame %d: a gradient of %s before the backward pass", f, v.Name)
		}
	}
}

// TestBrowserStepping types the lecture's third example, steps through
// every frame with the Next button, and checks every number shown against
// the engine's at every frame; then Prev and Reset.
func TestBrowserStepping(t *testing.T) {
	p := newPage(t)
	p.open("")
	ex := examples[2]
	res := mustEval(t, ex.expr, ex.vars)
	p.enter(ex.expr, ex.vars)
	n := len(res.Steps)
	st := p.state()
	if st.Title != "f = "+ex.expr {
		t.Fatalf("the circuit is titled %q", st.Title)
	}
	checkFrame(t, st, res, 0)
	if !strings.Contains(st.Explain, "Inputs: x = 3, y = -4") {
		t.Errorf("frame 0 explains %q", st.Explain)
	}
	for f := 1; f <= 2*n+1; f++ {
		p.click("next")
		st = p.state()
		checkFrame(t, st, res, f)
		switch {
		case f == 1:
			// n1 = sigmoid(y) = sigmoid(-4) = 0.0179862
			if !strings.Contains(st.Explain, "n1 = sigmoid(y) = sigmoid(-4) = 0.0179862") {
				t.Errorf("frame 1 explains %q", st.Explain)
			}
		case f == n+1:
			if !strings.Contains(st.Explain, "∂f/∂f = 1") {
				t.Errorf("frame %d explains %q", f, st.Explain)
			}
		case f == n+2:
			// The last node, the division: local × upstream = gradient.
			last := res.Steps[n-1]
			want := fmt.Sprintf("∂f/∂n2 = ∂%s/∂n2 × ∂f/∂%s = %s × 1 = %s", last.ID, last.ID,
				strconv.FormatFloat(last.Local[0], 'g', 6, 64), strconv.FormatFloat(last.Grad[0], 'g', 6, 64))
			if !strings.Contains(st.Explain, want) {
				t.Errorf("frame %d explains %q, want %q", f, st.Explain, want)
			}
		case f > n+1 && usesX(res.Steps[2*n+1-f]):
			if !strings.Contains(st.Explain, "one of several uses of x: the gradients add up") {
				t.Errorf("frame %d explains %q", f, st.Explain)
			}
		}
		if f == n+4 {
			p.screenshot("explorer-fxy-backward.png")
		}
	}
	if !strings.Contains(st.Explain, "Done.") {
		t.Errorf("the last frame explains %q", st.Explain)
	}
	p.click("next") // at the end: nothing happens
	checkFrame(t, p.state(), res, 2*n+1)
	p.click("prev")
	checkFrame(t, p.state(), res, 2*n)
	p.click("reset")
	checkFrame(t, p.state(), res, 0)
}

func usesX(st expr.Step) bool {
	for _, in := range st.Inputs {
		if in.Kind == expr.FromVar && in.Name == "x" {
			return true
		}
	}
	return false
}

// TestBrowserKeyboard steps with the arrow keys, and checks they move the
// cursor, not the walk-through, while the expression box has the focus.
func TestBrowserKeyboard(t *testing.T) {
	p := newPage(t)
	p.open("")
	res := mustEval(t, examples[0].expr, examples[0].vars) // the page's first expression
	checkFrame(t, p.state(), res, 0)
	p.do(chromedp.Focus(chromedp.ID("graph-wrap")))
	for f := 1; f <= 4; f++ {
		p.key(kb.ArrowRight)
		checkFrame(t, p.state(), res, f)
	}
	p.key(kb.ArrowLeft)
	checkFrame(t, p.state(), res, 3)
	p.key(kb.End)
	checkFrame(t, p.state(), res, 5)
	p.key(kb.ArrowRight) // past the end: stays
	checkFrame(t, p.state(), res, 5)
	p.key(kb.Home)
	checkFrame(t, p.state(), res, 0)
	p.key(kb.ArrowLeft) // before the start: stays
	checkFrame(t, p.state(), res, 0)

	p.do(chromedp.Focus(chromedp.ID("expr")))
	p.key(kb.ArrowRight)
	p.key(kb.ArrowRight)
	checkFrame(t, p.state(), res, 0)
}

// TestBrowserErrors checks that mistakes show next to their box, an
// expression's with its column and a caret under it, and that fixing them
// draws again.
func TestBrowserErrors(t *testing.T) {
	p := newPage(t)
	p.open("")
	p.enter("(x+y))*z", "x=-2 y=5 z=-4")
	msg, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.ID("expr-error")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, `unmatched ")" at column 6`) {
		t.Errorf("expression error %q", msg)
	}
	col, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById("expr-error").dataset.col`))
	if err != nil || col != "6" {
		t.Errorf("data-col %q, %v", col, err)
	}
	caret, err := chromedp.Run(p.ctx, chromedp.TextContent(chromedp.ID("expr-caret")))
	if err != nil || caret != "     ^" {
		t.Errorf("caret %q, %v", caret, err)
	}
	// The caret must sit under the sixth character of the box.
	off, err := chromedp.Run(p.ctx, chromedp.Evaluate[float64](`(() => {
		const input = document.getElementById("expr"), caret = document.getElementById("expr-caret");
		const c = document.createElement("canvas").getContext("2d");
		c.font = getComputedStyle(input).font;
		const r = document.createRange();
		r.setStart(caret.firstChild, 5); r.setEnd(caret.firstChild, 6);
		const textLeft = input.getBoundingClientRect().left + parseFloat(getComputedStyle(input).paddingLeft) + parseFloat(getComputedStyle(input).borderLeftWidth);
		return r.getBoundingClientRect().left - (textLeft + c.measureText("(x+y)").width);
	})()`))
	if err != nil || math.Abs(off) > 1.5 {
		t.Errorf("the caret is %v px off the sixth character (%v)", off, err)
	}
	st := p.state()
	if len(st.Rows) != 0 || len(st.Edges) != 0 || !strings.Contains(st.Explain, "Fix the expression") {
		t.Errorf("a wrong expression leaves a circuit: %+v", st)
	}
	p.screenshot("explorer-error.png")

	p.enter("(x+y)*z", "x=-2 y=5")
	msg, _ = chromedp.Run(p.ctx, chromedp.Text(chromedp.ID("vars-error")))
	if !strings.Contains(msg, "variable z has no value") {
		t.Errorf("values error %q", msg)
	}
	if e, _ := chromedp.Run(p.ctx, chromedp.TextContent(chromedp.ID("expr-error"))); e != "" {
		t.Errorf("the expression error stays: %q", e)
	}
	p.enter("log(x)", "x=-1")
	msg, _ = chromedp.Run(p.ctx, chromedp.Text(chromedp.ID("expr-error")))
	if !strings.Contains(msg, "the value of the expression is NaN") {
		t.Errorf("NaN error %q", msg)
	}

	p.enter("(x+y)*z", "x=-2 y=5 z=-4")
	for _, id := range []string{"expr-error", "vars-error", "expr-caret"} {
		if e, _ := chromedp.Run(p.ctx, chromedp.TextContent(chromedp.ID(id))); e != "" {
			t.Errorf("#%s stays after a fix: %q", id, e)
		}
	}
	checkFrame(t, p.state(), mustEval(t, "(x+y)*z", "x=-2 y=5 z=-4"), 0)
}

// TestBrowserExamples clicks each of the lecture's examples and runs the
// forward and the backward pass with their buttons.
func TestBrowserExamples(t *testing.T) {
	p := newPage(t)
	p.open("?ms=5")
	for i, ex := range examples {
		res := mustEval(t, ex.expr, ex.vars)
		n := len(res.Steps)
		p.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("stepper").dataset.loading = "1"`))
		p.click([]string{"ex-simple", "ex-neuron", "ex-fxy"}[i])
		p.waitDrawn()
		got, err := chromedp.Run(p.ctx, chromedp.Value(chromedp.ID("expr")))
		if err != nil || got != ex.expr {
			t.Errorf("example %s fills in %q", ex.name, got)
		}
		checkFrame(t, p.state(), res, 0)
		p.click("forward")
		p.waitDrawn()
		checkFrame(t, p.state(), res, n)
		p.click("backward")
		p.waitDrawn()
		checkFrame(t, p.state(), res, 2*n+1)
		if ex.name == "neuron" {
			p.screenshot("explorer-neuron.png")
		}
		// Forward again starts over.
		p.click("forward")
		p.waitDrawn()
		checkFrame(t, p.state(), res, n)
	}
	// The URL keeps the expression, so a reload shows it again.
	p.do(chromedp.Reload())
	p.waitDrawn()
	st := p.state()
	if st.Title != "f = "+examples[2].expr {
		t.Errorf("after a reload the page shows %q", st.Title)
	}
}

// TestBrowserSmallCases draws circuits without operations, and one whose
// constant part the engine folds, and walks them with Home and End.
func TestBrowserSmallCases(t *testing.T) {
	p := newPage(t)
	p.open("")
	// (x+y)^2 at x+y < 0: the engine's gradient toward the 2 is NaN, which
	// the page must not show; the 2 is a constant.
	for _, c := range []struct{ src, vars string }{{"x", "x=3"}, {"2*3*x + 1", "x=-0.5"}, {"(x+y)^2", "x=-2 y=1"}} {
		res := mustEval(t, c.src, c.vars)
		p.enter(c.src, c.vars)
		p.do(chromedp.Focus(chromedp.ID("graph-wrap")))
		checkFrame(t, p.state(), res, 0)
		p.key(kb.End)
		st := p.state()
		checkFrame(t, st, res, 2*len(res.Steps)+1)
		for _, row := range st.Rows {
			for _, g := range append(row.Local, row.Grad...) {
				if g.Text == "NaN" {
					t.Errorf("%s: the table shows NaN: %+v", c.src, row)
				}
			}
		}
		p.key(kb.ArrowLeft)
		st = p.state()
		checkFrame(t, st, res, 2*len(res.Steps))
		if c.src == "(x+y)^2" && (!strings.Contains(st.Explain, "2 is a constant: it has no gradient") || strings.Contains(st.Explain, "NaN")) {
			t.Errorf("the backward step of n2 explains %q", st.Explain)
		}
	}
}

// TestBrowserNoNetwork checks the page fetches nothing but its own
// server's files: every resource it loaded is same-origin.
func TestBrowserNoNetwork(t *testing.T) {
	p := newPage(t)
	p.open("")
	urls, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`performance.getEntriesByType("resource").map(e => e.name)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(urls) < 3 {
		t.Errorf("resources %v: want the script, the style sheet and the API", urls)
	}
	for _, u := range urls {
		if !strings.HasPrefix(u, p.url) {
			t.Errorf("the page loaded %s", u)
		}
	}
	if errors.Is(p.ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("timed out")
	}
}
