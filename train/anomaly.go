package train

import (
	"fmt"
	"strings"

	bp "github.com/gobackprop/backprop"
)

// recoverAnomaly turns the panic with which backprop's anomaly mode stops
// a step (see bp.SetDetectAnomaly) into RunEpoch's error, one line that
// says where in the run it happened. Any other panic goes on.
func (t *Trainer) recoverAnomaly(err *error) {
	r := recover()
	if r == nil {
		return
	}
	ae, ok := r.(*bp.AnomalyError)
	if !ok {
		panic(r)
	}
	*err = fmt.Errorf("anomaly at epoch %d, step %d: %s", t.Epoch+1, t.Step+1, strings.TrimPrefix(ae.Error(), "backprop: anomaly: "))
}
