package backprop

// Param is a named parameter: a leaf tensor that training updates, and the
// name that keys it in a state dict, a checkpoint and an optimizer's state
// ("fc1.weight"). nn.Parameters lists a model's; the optimizers in optim
// take them (optim.Param is this type). It lives here, below both, so that
// layers and optimizers share it without either importing the other.
type Param struct {
	Name string
	T    *Tensor
}
