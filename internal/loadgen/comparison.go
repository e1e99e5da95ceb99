package loadgen

import (
	"slices"
	"strconv"
	"strings"
)

// Comparison is what braid-loadgen compare reports: every pipeline measured,
// and CPU per million items as ratios with their spread, both to the
// baseline at every rate the two sustained and, for pipelines run in
// rounds, round by round.
type Comparison struct {
	// Baseline is the first pipeline measured; RateRatios are to it.
	Baseline string `json:"baseline"`
	// CPURate is the rate of the CPU step, where PipelineReport's
	// CPUPerMillion is measured.
	CPURate   float64          `json:"cpu_rate"`
	Pipelines []PipelineReport `json:"pipelines"`
	// RateRatios has one entry per pipeline and signal other than the
	// baseline's that shares a sustained rate with it.
	RateRatios []RateRatios `json:"rate_ratios"`
	// Rounds has one entry per pipeline run in rounds, other than the
	// rounds' baseline, and signal: braid-1, braid-2 … paired with
	// upstream-1, upstream-2 … (roundRatios says how).
	Rounds []RoundRatios `json:"rounds,omitempty"`
}

// Spread is the median of a set of ratios and their range.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// SpreadOf is xs's median, min and max; the zero Spread for no xs.
func SpreadOf(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	m := s[n/2]
	if n%2 == 0 {
		m = (s[n/2-1] + s[n/2]) / 2
	}
	return Spread{Median: m, Min: s[0], Max: s[n-1]}
}

// RateRatios is a pipeline's CPU per million items over the baseline's, at
// each target rate both sustained, in the order the pipeline ran them.
type RateRatios struct {
	Pipeline string    `json:"pipeline"`
	Signal   string    `json:"signal"`
	Rates    []float64 `json:"rates"`
	Ratios   []float64 `json:"ratios"`
	Spread
}

// RoundRatios is a pipeline's CPU per million items over the rounds'
// baseline's in the same round, measured at the CPU step of each.
type RoundRatios struct {
	// Pipeline and Baseline are names without their round number.
	Pipeline string    `json:"pipeline"`
	Baseline string    `json:"baseline"`
	Signal   string    `json:"signal"`
	Rounds   []int     `json:"rounds"`
	Ratios   []float64 `json:"ratios"`
	Spread
}

// round is where a pipeline stands among rounds: round n of the pipeline
// named base.
type round struct {
	base string
	n    int
}

// splitRound reads a pipeline name as a round: "braid-2" is round 2 of
// braid, "full-usage-1" round 1 of full-usage. A name is a round when it
// ends in a hyphen and a positive decimal number after a non-empty name;
// any other name ("passthrough", "run2", "x-0") is not.
func splitRound(name string) (round, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return round{}, false
	}
	digits := name[i+1:]
	for _, c := range digits {
		if c < '0' || c > '9' {
			return round{}, false
		}
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n <= 0 {
		return round{}, false
	}
	return round{name[:i], n}, true
}

// roundsOf reads the pipeline names of one comparison as rounds: by
// splitRound, and a name without a number is round 1 of itself when the
// comparison has the same name with a number and no name-1 (gateway,
// gateway-2, as some runs in bench/results were named). Names that are no
// round are left out.
func roundsOf(reports []PipelineReport) map[string]round {
	rounds := map[string]round{}
	later := map[string]bool{} // names that have a round above 1
	for _, r := range reports {
		if rd, ok := splitRound(r.Pipeline); ok {
			rounds[r.Pipeline] = rd
			later[rd.base] = later[rd.base] || rd.n > 1
		}
	}
	for _, r := range reports {
		_, isRound := rounds[r.Pipeline]
		_, hasOne := rounds[r.Pipeline+"-1"]
		if !isRound && !hasOne && later[r.Pipeline] {
			rounds[r.Pipeline] = round{r.Pipeline, 1}
		}
	}
	return rounds
}

// Compare assembles the comparison of reports, given in the order they
// were measured: the first is the baseline.
func Compare(reports []PipelineReport) Comparison {
	c := Comparison{Pipelines: reports}
	if len(reports) == 0 {
		return c
	}
	c.Baseline = reports[0].Pipeline
	if len(reports[0].Steps) > 0 {
		c.CPURate = reports[0].Steps[0].Load.Target
	}
	base := map[string]PipelineReport{}
	for _, r := range reports {
		if r.Pipeline == c.Baseline {
			base[r.Signal] = r
		}
	}
	for _, r := range reports {
		if r.Pipeline == c.Baseline {
			continue
		}
		rates, ratios := RatiosByRate(r, base[r.Signal])
		if len(ratios) == 0 {
			continue
		}
		c.RateRatios = append(c.RateRatios, RateRatios{Pipeline: r.Pipeline, Signal: r.Signal, Rates: rates, Ratios: ratios, Spread: SpreadOf(ratios)})
	}
	c.Rounds = roundRatios(reports)
	return c
}

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

// roundRatios pairs the pipelines run in rounds (roundsOf). The rounds'
// baseline is the first report that is a round (bench-parity's first
// --pipeline, upstream-1, makes it upstream). Every other pipeline run in
// rounds is paired with the baseline's run of the same round and signal:
// braid-2 with upstream-2, the two that ran next to each other. A round
// whose baseline run is missing, or either side without CPU measured,
// gives no ratio. Entries come in the order their pipelines first appear.
func roundRatios(reports []PipelineReport) []RoundRatios {
	type key struct {
		round
		signal string
	}
	rounds := roundsOf(reports)
	baseline := ""
	cpu := map[key]float64{}
	for _, r := range reports {
		rd, ok := rounds[r.Pipeline]
		if !ok {
			continue
		}
		if baseline == "" {
			baseline = rd.base
		}
		k := key{rd, r.Signal}
		if _, seen := cpu[k]; !seen {
			cpu[k] = r.CPUPerMillion
		}
	}
	var out []RoundRatios
	index := map[[2]string]int{} // (pipeline, signal) → its entry in out
	for _, r := range reports {
		rd, ok := rounds[r.Pipeline]
		if !ok || rd.base == baseline {
			continue
		}
		against := cpu[key{round{baseline, rd.n}, r.Signal}]
		if against <= 0 || r.CPUPerMillion <= 0 {
			continue
		}
		id := [2]string{rd.base, r.Signal}
		i, ok := index[id]
		if !ok {
			i = len(out)
			index[id] = i
			out = append(out, RoundRatios{Pipeline: rd.base, Baseline: baseline, Signal: r.Signal})
		}
		if slices.Contains(out[i].Rounds, rd.n) {
			continue
		}
		out[i].Rounds = append(out[i].Rounds, rd.n)
		out[i].Ratios = append(out[i].Ratios, r.CPUPerMillion/against)
	}
	for i := range out {
		out[i].Spread = SpreadOf(out[i].Ratios)
	}
	return out
}
