package loadgen

import "slices"

// RatiosByRate pairs the sustained steps of r and base by target rate and
// returns, rate by rate, r's CPU per million over base's.
func RatiosByRate(r, base PipelineReport) (rates, ratios []float64) {
	baseCPU := map[float64]float64{}
	for _, s := range base.Steps {
		if s.Sustained && s.CPUPerMillion > 0 {
			baseCPU[s.Load.Target] = s.CPUPerMillion
		}
	}
	for _, s := range r.Steps {
		if b, ok := baseCPU[s.Load.Target]; ok && s.Sustained && !slices.Contains(rates, s.Load.Target) {
			rates = append(rates, s.Load.Target)
			ratios = append(ratios, s.CPUPerMillion/b)
		}
	}
	return rates, ratios
}

// Median is the median of xs, which must not be empty.
func Median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
