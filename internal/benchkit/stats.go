package benchkit

import (
	"math"
	"slices"
)

// Samples are repeated measurements of one quantity.
type Samples []float64

// Median is the middle sample (the upper one of an even count), 0 for none.
func (s Samples) Median() float64 { return s.Percentile(50) }

// Percentile is the sample at or above p percent of the others, nearest
// rank, 0 for none.
func (s Samples) Percentile(p float64) float64 {
	if len(s) == 0 {
		return 0
	}
	c := slices.Clone(s)
	slices.Sort(c)
	i := int(math.Ceil(p/100*float64(len(c)))) - 1
	if p == 50 {
		i = len(c) / 2
	}
	return c[min(max(i, 0), len(c)-1)]
}

// Min is the smallest sample, 0 for none.
func (s Samples) Min() float64 {
	if len(s) == 0 {
		return 0
	}
	return slices.Min(s)
}

// Max is the largest sample, 0 for none.
func (s Samples) Max() float64 {
	if len(s) == 0 {
		return 0
	}
	return slices.Max(s)
}

// Rotate returns xs started at index r (modulo its length), for rounds
// that should not always run the same variant first.
func Rotate[T any](xs []T, r int) []T {
	if len(xs) == 0 {
		return nil
	}
	r %= len(xs)
	return append(append(make([]T, 0, len(xs)), xs[r:]...), xs[:r]...)
}
