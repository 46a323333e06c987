package data

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gobackprop/backprop"
)

// Vocab is a byte-level tokenizer: token i stands for the byte Bytes()[i].
// Built from a corpus it holds the distinct bytes of the corpus in
// increasing order, as the PyTorch twin (../shared/bench/w7_gpt_torch.py)
// does, so the two give every byte the same id. Multi-byte UTF-8
// characters are several tokens.
type Vocab struct {
	bytes []byte
	id    [256]int16 // -1 for a byte outside the vocabulary
}

// NewVocab returns the vocabulary of the distinct bytes of text, sorted.
func NewVocab(text []byte) *Vocab {
	var seen [256]bool
	for _, b := range text {
		seen[b] = true
	}
	var bs []byte
	for b, ok := range seen {
		if ok {
			bs = append(bs, byte(b))
		}
	}
	v, _ := VocabOf(bs)
	return v
}

// VocabOf returns the vocabulary whose tokens are bs, in that order; bs
// must be strictly increasing (as Bytes returns them), which is how a
// checkpoint stores a vocabulary.
func VocabOf(bs []byte) (*Vocab, error) {
	if len(bs) == 0 {
		return nil, errors.New("data: an empty vocabulary")
	}
	v := &Vocab{bytes: slices.Clone(bs)}
	for i := range v.id {
		v.id[i] = -1
	}
	for i, b := range bs {
		if i > 0 && b <= bs[i-1] {
			return nil, fmt.Errorf("data: vocabulary bytes are not strictly increasing at token %d (%#x after %#x)", i, b, bs[i-1])
		}
		v.id[b] = int16(i)
	}
	return v, nil
}

// Size is the number of tokens.
func (v *Vocab) Size() int { return len(v.bytes) }

// Bytes returns the byte of each token; do not modify it.
func (v *Vocab) Bytes() []byte { return v.bytes }

// Encode returns the token ids of text, or an error naming the first byte
// that is not in the vocabulary.
func (v *Vocab) Encode(text []byte) ([]int64, error) {
	ids := make([]int64, len(text))
	for i, b := range text {
		id := v.id[b]
		if id < 0 {
			return nil, fmt.Errorf("byte %d of the text (%s) is not in the vocabulary of %d bytes the model was trained on", i, describeByte(text, i), len(v.bytes))
		}
		ids[i] = int64(id)
	}
	return ids, nil
}

func describeByte(text []byte, i int) string {
	if r, _ := utf8.DecodeRune(text[i:]); r != utf8.RuneError {
		return fmt.Sprintf("%q", r)
	}
	return fmt.Sprintf("%#x", text[i])
}

// Decode returns the bytes of token ids; an id outside the vocabulary
// panics (a model cannot produce one).
func (v *Vocab) Decode(ids []int64) []byte {
	out := make([]byte, len(ids))
	for i, id := range ids {
		if id < 0 || id >= int64(len(v.bytes)) {
			panic(fmt.Sprintf("data: Vocab.Decode: token %d outside [0, %d)", id, len(v.bytes)))
		}
		out[i] = v.bytes[id]
	}
	return out
}

// Corpus is the text a language model trains on: the bytes of one or more
// files, one after another, and a digest that tells whether they changed.
type Corpus struct {
	Files []string // as given (the default corpus: absolute paths)
	Text  []byte
}

// Hash is the SHA-256 of the text, in hex.
func (c *Corpus) Hash() string {
	h := sha256.Sum256(c.Text)
	return hex.EncodeToString(h[:])
}

// Split cuts the tokens of a corpus as the twin does: the first 90% for
// training, the last 10% for validation.
func Split(tokens []int64) (trainPart, valPart []int64) {
	n := len(tokens) * 9 / 10
	return tokens[:n], tokens[n:]
}

// ReadText reads UTF-8 text files and joins their bytes in the order
// given. A missing, empty or binary file (one holding a NUL byte or
// invalid UTF-8) is an error that names it.
func ReadText(files ...string) (*Corpus, error) {
	if len(files) == 0 {
		return nil, errors.New("no text files given")
	}
	var buf bytes.Buffer
	limit := maxTextBytes()
	for _, f := range files {
		start := buf.Len()
		if err := readTextFile(&buf, f, limit); err != nil {
			return nil, err
		}
		if err := checkText(buf.Bytes()[start:]); err != nil {
			return nil, fmt.Errorf("text file %s %v", f, err)
		}
	}
	return &Corpus{Files: slices.Clone(files), Text: buf.Bytes()}, nil
}

// maxTextBytes bounds a corpus: it is held in memory, and as int64 token
// ids too, 9 bytes for each of its bytes.
func maxTextBytes() int {
	return int(min(backprop.AllocLimit()/9, math.MaxInt32))
}

// readTextFile appends file f to buf, at most limit bytes in all. It reads
// in pieces and looks for NUL bytes as they come, so that a device or a
// pipe that never ends (/dev/zero, /dev/urandom, `yes`) is refused early
// rather than read until memory runs out.
func readTextFile(buf *bytes.Buffer, f string, limit int) error {
	file, err := os.Open(f)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("text file %s does not exist", f)
		}
		return fmt.Errorf("text file %s: %v", f, err)
	}
	defer file.Close()
	if st, err := file.Stat(); err == nil && st.IsDir() {
		return fmt.Errorf("text file %s is a directory; give the files in it", f)
	}
	start := buf.Len()
	chunk := make([]byte, 1<<20)
	for {
		n, err := file.Read(chunk)
		if i := bytes.IndexByte(chunk[:n], 0); i >= 0 {
			return fmt.Errorf("text file %s is binary, not text (a NUL byte at offset %d)", f, buf.Len()-start+i)
		}
		if buf.Len()+n > limit {
			return fmt.Errorf("text file %s: the corpus is over %d bytes, the most this machine can hold with its token ids", f, limit)
		}
		buf.Write(chunk[:n])
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("text file %s: %v", f, err)
		}
	}
}

// checkText checks a file's bytes as readTextFile left them (NUL bytes
// are refused there, as they arrive): not empty, and UTF-8.
func checkText(b []byte) error {
	if len(b) == 0 {
		return errors.New("is empty")
	}
	if !utf8.Valid(b) {
		for i := 0; i < len(b); {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				return fmt.Errorf("is not UTF-8 text (an invalid byte %#x at offset %d)", b[i], i)
			}
			i += n
		}
	}
	return nil
}

// GoSourcePackages are the standard-library packages whose source makes the
// default corpus, GoSource: code a reader knows, in a few hundred
// kilobytes that every machine which builds Go has.
var GoSourcePackages = []string{"bufio", "bytes", "container/heap", "container/list", "container/ring",
	"encoding/csv", "encoding/json", "errors", "fmt", "go/scanner", "go/token", "path", "regexp", "regexp/syntax",
	"sort", "strconv", "strings", "text/tabwriter", "text/template/parse", "unicode/utf8"}

// GoRoot returns the Go installation's root: runtime.GOROOT when it
// exists, else what `go env GOROOT` says.
func GoRoot() (string, error) {
	//lint:ignore SA1019 the build's root is the natural default; `go env` is the fallback
	if r := runtime.GOROOT(); r != "" {
		if st, err := os.Stat(filepath.Join(r, "src")); err == nil && st.IsDir() {
			return r, nil
		}
	}
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("cannot find the Go installation (GOROOT) for the default corpus: %v; give --text FILE", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// GoSourceFiles lists the default corpus: the non-test .go files of
// GoSourcePackages under GOROOT/src, sorted by path.
func GoSourceFiles() ([]string, error) {
	root, err := GoRoot()
	if err != nil {
		return nil, err
	}
	var files []string
	for _, pkg := range GoSourcePackages {
		dir := filepath.Join(root, "src", filepath.FromSlash(pkg))
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("the default corpus needs the Go standard library's source, but %s cannot be read (%v); give --text FILE", dir, err)
		}
		for _, e := range ents {
			n := e.Name()
			if e.Type().IsRegular() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
				files = append(files, filepath.Join(dir, n))
			}
		}
	}
	slices.Sort(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("no Go source under %s for the default corpus; give --text FILE", filepath.Join(root, "src"))
	}
	return files, nil
}
