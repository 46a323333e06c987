package nn

import (
	"testing"

	bp "github.com/gobackprop/backprop"
)

func float64Norm(m *BatchNorm, seed uint64) *BatchNorm {
	To(m, bp.Float64)
	c := m.Weight.Numel()
	m.Weight.CopyFrom(rnd(seed, c))
	m.Bias.CopyFrom(rnd(seed+1, c))
	return m
}

func TestBatchNormGrad(t *testing.T) {
	// Training mode: the gradient flows through the batch mean and variance.
	checkModule(t, "BatchNorm1d [N,C]", float64Norm(NewBatchNorm1d(3), 1), rnd(3, 5, 3), nil)
	checkModule(t, "BatchNorm1d [N,C,L]", float64Norm(NewBatchNorm1d(2), 4), rnd(6, 3, 2, 4), nil)
	checkModule(t, "BatchNorm2d", float64Norm(NewBatchNorm2d(3), 7), rnd(9, 2, 3, 3, 2), nil)
	// A non-contiguous input.
	x := rnd(10, 4, 6).T() // [6, 4]
	checkModule(t, "BatchNorm1d transposed input", float64Norm(NewBatchNorm1d(4), 11), x, nil)

	// Evaluation mode: an affine map with the running statistics.
	m := float64Norm(NewBatchNorm2d(3), 12)
	m.RunningMean.CopyFrom(rnd(13, 3))
	m.RunningVar.CopyFrom(rnd(14, 3).Abs().AddScalar(0.5))
	checkModule(t, "BatchNorm2d eval", Eval(m), rnd(15, 2, 3, 2, 2), nil)

	// affine=False.
	m = float64Norm(NewBatchNorm1d(3), 16)
	m.Weight, m.Bias = nil, nil
	checkModule(t, "BatchNorm1d no affine", m, rnd(17, 4, 3), nil)
}

func TestLayerNormGrad(t *testing.T) {
	m := To(NewLayerNorm(3, 4), bp.Float64)
	m.Weight.CopyFrom(rnd(1, 3, 4))
	m.Bias.CopyFrom(rnd(2, 3, 4))
	checkModule(t, "LayerNorm", m, rnd(3, 2, 3, 4), nil)
	m1 := To(NewLayerNorm(5), bp.Float64)
	m1.Weight.CopyFrom(rnd(4, 5))
	checkModule(t, "LayerNorm 1 axis", m1, rnd(5, 3, 5), nil)
}

// The expected values come from testdata/torch_ref.py (PyTorch 1.13,
// float64): BatchNorm with weight [1.5, -0.5, 2] and bias [0.1, 0.2, -0.3],
// trained on seq(0.7, 0.1) and then seq(1.3, 0.4) + 0.5, then evaluated on
// seq(0.9, 0.2).
func TestBatchNormMatchesTorch(t *testing.T) {
	cases := []struct {
		name                        string
		m                           *BatchNorm
		shape                       []int
		train2, mean, vars, evalOut []float64
	}{
		{"BatchNorm1d [N,C]", NewBatchNorm1d(3), []int{5, 3},
			[]float64{1.1412108806650274, -0.44377836211022736, -0.071114131697073479, -1.8521673398883696, 0.61533297141688081, 1.2881390906719026, 2.4052319030490867, 0.25241668937198863, -3.5586276393360903, -0.78255716104855333, -0.27978933844192655, 2.1189682187654926, -0.4117182827771913, 0.85581803976328452, -1.2773655384042302},
			[]float64{0.069716494484446251, 0.085217384028264689, 0.083126540754705935},
			[]float64{1.2030713088080951, 1.2738029733711329, 1.2547189767240061},
			[]float64{0.54804026760238433, -0.55188169518246055, 2.7986442629006349, 0.65903076321834841, 0.77987534315389728, -4.0191070913966707, -1.7219205032427554, 0.047150260053467369, 2.7608301817666621, 2.4721924241567326, 0.040265892493578495, -2.6805232905162049, -2.7304176256531667, 0.78543890544661044, 0.37829161463794841}},
		{"BatchNorm1d [N,C,L]", NewBatchNorm1d(3), []int{4, 3, 2},
			[]float64{0.93262701813168325, 2.2017525445773063, 0.093053003594626801, 0.83673873453927794, -2.1586776316100749, 1.2705014539133093, 2.0944178152718433, -0.04636911583704742, 0.88229759509678463, 0.50859370176779195, 1.7295450482415959, 2.0282421759720215, -0.49470589702418233, -1.994845541875814, 0.36603471295580381, -0.41797771944977863, 1.6467296435788898, -1.7502167836493947, -1.9358912117356644, 0.043014388491875402, -0.47892024039995951, -0.18981978810454675, -2.2504297162480675, -2.9156941901982782},
			[]float64{0.067695671124329782, 0.087844906335243889, 0.049656389260929662},
			[]float64{1.2189969840715154, 1.2595969402041991, 1.2041171561383774},
			[]float64{0.54784941109614937, 2.4295988038581862, -0.57105757654104705, 0.025961840517529807, -2.620861234558912, -4.0354451029273237, -1.7072346984734099, 0.59254878219634644, -0.56162237890137701, -0.56470860333204054, 0.42197865978753768, -2.6690246520153127, -2.7091224246862335, -1.6715594346649685, 0.032857814478210963, -0.5680792118997704, 2.8712069664390598, 0.36211527177475683, -1.7258203197599558, -2.7085361242132464, 0.77804730409258727, 0.01831262945873818, 2.9373825876701414, 2.8433806520924638}},
		{"BatchNorm2d", NewBatchNorm2d(3), []int{2, 3, 2, 3},
			[]float64{1.0094046398651846, 2.2760387730468237, 0.48718796943624565, -1.7364771528453575, -1.137281980162135, 1.4069511557400052, -0.39910294314603828, 0.3356485551618838, 0.99077107720565161, 0.60650859340231478, -0.25419345724498577, -0.33040455412751613, -1.2651025292502642, -3.2680509141949847, -1.1499412527550841, 1.9861908388568328, 1.5459044992532578, -1.8257797525653856, -1.8534824630201685, 0.1215383898126242, 2.1974224147488539, 1.3329946519779274, -1.2053562009018925, -1.6989401976981109, 0.14891108490355895, -0.43925236676795609, 0.028186871323364737, 0.86642922028007396, 0.84744767508764185, -0.00094975607799259584, 2.3348172775008402, -0.060459839087578134, -3.0338073489103539, -2.2292641842648067, 1.1745120337991943, 2.1909811716183314},
			[]float64{0.11363162271164993, 0.056268624667451875, 0.0046896440342569859},
			[]float64{1.1283699593513177, 1.2518923855630386, 1.1833783970234102},
			[]float64{0.50062097896936275, 2.4564784321716662, 2.5075681780261418, 0.61522651542295137, -1.7884601121275736, -2.8844295860929892, 0.78933785100638409, 0.032882048041548061, -0.5780730108700084, -0.58116871747480103, 0.025937697267994445, 0.78380020228315939, -3.9856088818980102, -2.5815262988583019, 0.54264497070893647, 3.0225943951648633, 2.9815456916954202, 0.45056370071710927, -1.8625916285756348, -2.8840092721325554, -1.7686199992737006, 0.6394718253056888, 2.517870317786103, 2.4450409478275548, 0.05534487926803304, 0.80694080187896167, 1.1182452356933539, 0.75366919153418677, -0.010883448764252472, -0.59681448955941929, 2.9244852436203614, 0.32916558748513919, -2.7488189725781687, -3.980111085880055, -2.4328934287797499, 0.72193052199799423}},
	}
	for _, c := range cases {
		m := To(c.m, bp.Float64)
		m.Weight.CopyFrom(bp.FromFloat64s([]float64{1.5, -0.5, 2}))
		m.Bias.CopyFrom(bp.FromFloat64s([]float64{0.1, 0.2, -0.3}))
		m.Forward(seq(0.7, 0.1, c.shape...))
		y2 := m.Forward(seq(1.3, 0.4, c.shape...).AddScalar(0.5))
		near(t, c.name+" second training output", y2.Float64s(), c.train2, 1e-12)
		near(t, c.name+" running mean", m.RunningMean.Float64s(), c.mean, 1e-12)
		near(t, c.name+" running var", m.RunningVar.Float64s(), c.vars, 1e-12)
		if n := m.NumBatchesTracked.Item(); n != 2 {
			t.Errorf("%s: num_batches_tracked = %v, want 2", c.name, n)
		}
		Eval(m)
		near(t, c.name+" eval output", m.Forward(seq(0.9, 0.2, c.shape...)).Float64s(), c.evalOut, 1e-12)
		if n := m.NumBatchesTracked.Item(); n != 2 {
			t.Errorf("%s: evaluation changed num_batches_tracked to %v", c.name, n)
		}
	}
}

// From testdata/torch_ref.py: LayerNorm([3, 4]) with weight seq(0.5, 0.3)
// and bias seq(0.2, 1.0), on seq(1.1, 0) of shape [2, 3, 4].
func TestLayerNormMatchesTorch(t *testing.T) {
	want := []float64{1.6927833168657658, 3.7429085938236684, 4.2633217123281533, 1.5858549869455212, -0.086389899887456031, 1.1439973003656723, 1.4691493493717411, -0.42372608896150504, -0.55434510818161331, 1.9592327883544696, 2.6692910942185257, 0.47391550170192842, 2.1713349296901483, 3.8666672668715458, 2.7598855357381971, -0.055527616494638249, -0.13575078371953531, 1.6558454200720263, 1.2554206921549902, -0.18127004835216043, 1.1055935007189861, 3.2989446996429486, 2.2578813686927481, -0.3139868960176293}
	m := To(NewLayerNorm(3, 4), bp.Float64)
	m.Weight.CopyFrom(seq(0.5, 0.3, 3, 4))
	m.Bias.CopyFrom(seq(0.2, 1.0, 3, 4))
	near(t, "LayerNorm", m.Forward(seq(1.1, 0, 2, 3, 4)).Float64s(), want, 1e-12)
}

func TestNormErrors(t *testing.T) {
	mustPanic(t, "nn: BatchNorm2d: input of shape [2 3 4]", func() { NewBatchNorm2d(3).Forward(bp.Zeros(2, 3, 4)) })
	mustPanic(t, "nn: BatchNorm1d: input of shape [2 4]", func() { NewBatchNorm1d(3).Forward(bp.Zeros(2, 4)) })
	mustPanic(t, "more than one value per channel", func() { NewBatchNorm1d(3).Forward(bp.Zeros(1, 3)) })
	mustPanic(t, "does not end in the normalized shape [3 4]", func() { NewLayerNorm(3, 4).Forward(bp.Zeros(3, 5)) })
	// A batch of one is fine in evaluation mode.
	if y := Eval(NewBatchNorm1d(3)).Forward(bp.Ones(1, 3)); y.Size(0) != 1 {
		t.Errorf("eval shape %v", y.Shape())
	}
}
