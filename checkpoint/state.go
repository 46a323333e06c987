package checkpoint

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gobackprop/backprop"
)

// OptimPrefix starts the names of optimizer tensors in a training-state
// file. Model weights keep their own names, so the file also reads as a
// plain file of weights.
const OptimPrefix = "optim/"

// StateVersion is the version of the training-state layout that SaveState
// writes, stored under the metadata key "backprop.state".
const StateVersion = 1

// Metadata keys of a training-state file. Keys starting with "backprop."
// are reserved for this package.
const (
	keyState = "backprop.state"
	keyEpoch = "backprop.epoch"
	keyStep  = "backprop.step"
	keyModel = "backprop.model"
	keyRNG   = "backprop.rng"
	reserved = "backprop."
)

// State is everything a training run needs to resume where it stopped.
type State struct {
	Epoch int // epochs completed
	Step  int // optimizer steps taken
	// ModelName says which model the weights belong to (an architecture
	// name, say), so that a loader can refuse a checkpoint of another one.
	ModelName string
	// Model holds the weights by name, such as "fc1.weight".
	Model map[string]*backprop.Tensor
	// Optim holds the optimizer's tensors (moments, step counts) by name,
	// without OptimPrefix.
	Optim map[string]*backprop.Tensor
	// RNG is the random generator's state (backprop.RNG.MarshalBinary).
	RNG []byte
	// Meta holds any other strings: hyperparameters, a git commit. Keys
	// must not start with "backprop.".
	Meta map[string]string
}

// SaveState writes s to path atomically; see Save and the package
// documentation for the layout.
func SaveState(path string, s State) error {
	tensors, md, err := stateToFile(s)
	if err != nil {
		return err
	}
	return Save(path, tensors, md)
}

// WriteState writes s to w; see SaveState.
func WriteState(w io.Writer, s State) error {
	tensors, md, err := stateToFile(s)
	if err != nil {
		return err
	}
	return Write(w, tensors, md)
}

// LoadState reads a training state from path. A plain safetensors file of
// weights loads too: as a state at epoch 0 and step 0 with no optimizer
// tensors, which is how a run starts from pretrained weights. The maps of
// the result are never nil.
func LoadState(path string) (State, error) {
	tensors, md, err := Load(path)
	if err != nil {
		return State{}, err
	}
	s, err := stateFromFile(tensors, md)
	if err != nil {
		return State{}, wrap(err, path)
	}
	return s, nil
}

// ReadState reads a training state from a safetensors file of size bytes;
// see LoadState.
func ReadState(r io.ReaderAt, size int64) (State, error) {
	tensors, md, err := Read(r, size)
	if err != nil {
		return State{}, err
	}
	s, err := stateFromFile(tensors, md)
	if err != nil {
		return State{}, wrap(err, "")
	}
	return s, nil
}

func stateToFile(s State) (map[string]*backprop.Tensor, map[string]string, error) {
	tensors := make(map[string]*backprop.Tensor, len(s.Model)+len(s.Optim))
	for name, t := range s.Model {
		if strings.HasPrefix(name, OptimPrefix) {
			return nil, nil, fmt.Errorf("checkpoint: save state: model tensor %q starts with the optimizer prefix %q", name, OptimPrefix)
		}
		tensors[name] = t
	}
	for name, t := range s.Optim {
		tensors[OptimPrefix+name] = t
	}
	md := make(map[string]string, len(s.Meta)+5)
	for k, v := range s.Meta {
		if strings.HasPrefix(k, reserved) {
			return nil, nil, fmt.Errorf("checkpoint: save state: metadata key %q is reserved (keys starting %q belong to this package)", k, reserved)
		}
		md[k] = v
	}
	md[keyState] = strconv.Itoa(StateVersion)
	md[keyEpoch] = strconv.Itoa(s.Epoch)
	md[keyStep] = strconv.Itoa(s.Step)
	if s.ModelName != "" {
		md[keyModel] = s.ModelName
	}
	if s.RNG != nil {
		md[keyRNG] = base64.StdEncoding.EncodeToString(s.RNG)
	}
	return tensors, md, nil
}

func stateFromFile(tensors map[string]*backprop.Tensor, md map[string]string) (State, error) {
	s := State{
		Model: map[string]*backprop.Tensor{},
		Optim: map[string]*backprop.Tensor{},
		Meta:  map[string]string{},
	}
	for name, t := range tensors {
		if rest, ok := strings.CutPrefix(name, OptimPrefix); ok {
			s.Optim[rest] = t
		} else {
			s.Model[name] = t
		}
	}
	if v, ok := md[keyState]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return State{}, formatErr("", "metadata %s = %q is not a layout version", keyState, v)
		}
		if n > StateVersion {
			return State{}, formatErr("", "training state has layout version %d; this package reads up to %d", n, StateVersion)
		}
	}
	var err error
	for k, v := range md {
		switch k {
		case keyState:
		case keyEpoch:
			s.Epoch, err = strconv.Atoi(v)
		case keyStep:
			s.Step, err = strconv.Atoi(v)
		case keyModel:
			s.ModelName = v
		case keyRNG:
			s.RNG, err = base64.StdEncoding.DecodeString(v)
		default:
			if !strings.HasPrefix(k, reserved) {
				s.Meta[k] = v
			}
		}
		if err != nil {
			var ne *strconv.NumError
			if errors.As(err, &ne) {
				err = ne.Err
			}
			return State{}, formatErr("", "metadata %s = %q: %v", k, v, err)
		}
	}
	return s, nil
}
