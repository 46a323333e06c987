package data

import (
	"fmt"
)

// TokenDataset is implemented by a Dataset whose examples are integers
// (token ids) rather than values: the Loader then fills Int64 batches
// through FillTokens, and never goes through float32. A TokenDataset
// usually also has sequence targets (TargetShaper).
type TokenDataset interface {
	Dataset
	// FillTokens is Fill with int64 examples: x receives
	// len(idx)·numel(ExampleShape()) ids and y the targets.
	FillTokens(idx []int, x, y []int64)
}

// TargetShaper is implemented by a Dataset whose target is not one label
// per example but an array of int64 of TargetShape() (a label per
// position of a sequence, say). Fill and FillTokens then receive
// len(idx)·numel(TargetShape()) targets in y, and a Loader's batch Y has
// shape [B, TargetShape()...].
type TargetShaper interface {
	TargetShape() []int
}

// targetShape is the shape of one example's target: [] (one label) unless
// the dataset says otherwise.
func targetShape(ds Dataset) []int {
	if t, ok := ds.(TargetShaper); ok {
		return t.TargetShape()
	}
	return nil
}

// TokenWindows is the dataset of a language model: example i is the
// window of Context tokens starting at offset i, and its target the same
// window shifted by one (the token that follows each position). It has
// len(tokens)-Context-1 examples, the offsets from which the PyTorch twin
// draws its batches, so that no window reaches the last token. Both x and
// y are Int64 [B, Context] in a Loader's batches.
type TokenWindows struct {
	tokens  []int64
	context int
	vocab   int
}

// NewTokenWindows makes the windows of context tokens of tokens, each id in
// [0, vocab). It keeps tokens (no copy). Too few tokens for one window, a
// non-positive context or an id out of range panics.
func NewTokenWindows(tokens []int64, context, vocab int) *TokenWindows {
	if context < 1 || vocab < 1 {
		panic(fmt.Sprintf("data: NewTokenWindows: context %d and vocabulary %d must be positive", context, vocab))
	}
	if len(tokens) < context+2 {
		panic(fmt.Sprintf("data: NewTokenWindows: %d tokens are too few for a window of %d and its targets (need %d)", len(tokens), context, context+2))
	}
	for i, t := range tokens {
		if t < 0 || t >= int64(vocab) {
			panic(fmt.Sprintf("data: NewTokenWindows: token %d at %d is outside [0, %d)", t, i, vocab))
		}
	}
	return &TokenWindows{tokens: tokens, context: context, vocab: vocab}
}

// Len is the number of windows.
func (w *TokenWindows) Len() int { return len(w.tokens) - w.context - 1 }

// ExampleShape is [Context].
func (w *TokenWindows) ExampleShape() []int { return []int{w.context} }

// TargetShape is [Context].
func (w *TokenWindows) TargetShape() []int { return []int{w.context} }

// Classes is the vocabulary size: every target lies in [0, Classes()).
func (w *TokenWindows) Classes() int { return w.vocab }

// Tokens returns the tokens the windows are cut from; do not modify them.
func (w *TokenWindows) Tokens() []int64 { return w.tokens }

// FillTokens implements TokenDataset.
func (w *TokenWindows) FillTokens(idx []int, x, y []int64) {
	t := w.context
	w.check("FillTokens", idx, len(x), len(y))
	for k, i := range idx {
		copy(x[k*t:(k+1)*t], w.tokens[i:i+t])
		copy(y[k*t:(k+1)*t], w.tokens[i+1:i+t+1])
	}
}

// Fill implements Dataset for code that wants float32 examples; token ids
// below 2^24 are exact in float32. Loaders use FillTokens.
func (w *TokenWindows) Fill(idx []int, x []float32, y []int64) {
	t := w.context
	w.check("Fill", idx, len(x), len(y))
	for k, i := range idx {
		for j, v := range w.tokens[i : i+t] {
			x[k*t+j] = float32(v)
		}
		copy(y[k*t:(k+1)*t], w.tokens[i+1:i+t+1])
	}
}

func (w *TokenWindows) check(op string, idx []int, nx, ny int) {
	want := len(idx) * w.context
	if nx != want || ny != want {
		panic(fmt.Sprintf("data: TokenWindows.%s: %d windows of %d tokens need buffers of %d, got %d and %d", op, len(idx), w.context, want, nx, ny))
	}
	for _, i := range idx {
		if i < 0 || i >= w.Len() {
			panic(fmt.Sprintf("data: TokenWindows.%s: index %d out of range for %d windows", op, i, w.Len()))
		}
	}
}
