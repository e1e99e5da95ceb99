package faults

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLedgerTallies(t *testing.T) {
	tests := []struct {
		name string
		run  func(l *Ledger)
		want Tally
	}{
		{
			name: "every acknowledged item delivered once",
			run: func(l *Ledger) {
				first := l.Reserve(Spans, 3)
				l.Ack(Spans, first, 3)
				l.Delivered(Spans, 1, 2, 3)
			},
			want: Tally{Sent: 3, Acknowledged: 3, Delivered: 3},
		},
		{
			name: "an acknowledged item missing is lost",
			run: func(l *Ledger) {
				l.Ack(Spans, l.Reserve(Spans, 3), 3)
				l.Delivered(Spans, 1, 3)
			},
			want: Tally{Sent: 3, Acknowledged: 3, Delivered: 2, Lost: 1, MissingIDs: []uint64{2}},
		},
		{
			name: "redelivery counts as duplicates",
			run: func(l *Ledger) {
				l.Ack(Spans, l.Reserve(Spans, 2), 2)
				l.Delivered(Spans, 1, 2, 2, 1, 2)
			},
			want: Tally{Sent: 2, Acknowledged: 2, Delivered: 2, Duplicates: 3},
		},
		{
			name: "a failed request is not acknowledged, and may arrive",
			run: func(l *Ledger) {
				l.Reserve(Spans, 2) // failed
				l.Ack(Spans, l.Reserve(Spans, 2), 2)
				l.Delivered(Spans, 1, 3, 4)
			},
			want: Tally{Sent: 4, Acknowledged: 2, Delivered: 2, UnackedDelivered: 1},
		},
		{
			name: "IDs never sent are counted apart",
			run: func(l *Ledger) {
				l.Ack(Spans, l.Reserve(Spans, 1), 1)
				l.Delivered(Spans, 1, 0, 7)
			},
			want: Tally{Sent: 1, Acknowledged: 1, Delivered: 1, Unknown: 2},
		},
		{
			name: "losses before the cut are told apart",
			run: func(l *Ledger) {
				l.Ack(Spans, l.Reserve(Spans, 2), 2)
				l.MarkCut()
				l.Ack(Spans, l.Reserve(Spans, 2), 2)
				l.Delivered(Spans, 2, 3)
			},
			want: Tally{Sent: 4, Acknowledged: 4, Delivered: 2, Lost: 2, LostBeforeCut: 1, MissingIDs: []uint64{1, 4}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLedger()
			tt.run(l)
			tt.want.Stream = Spans.String()
			assert.Equal(t, tt.want, l.Report()[Spans])
		})
	}
}

func TestLedgerMissing(t *testing.T) {
	l := NewLedger()
	l.Ack(Spans, l.Reserve(Spans, 2), 2)
	l.MarkCut()
	l.Ack(LogRecords, l.Reserve(LogRecords, 3), 3)
	l.Delivered(LogRecords, 1)
	assert.Equal(t, int64(4), l.Missing(false))
	assert.Equal(t, int64(2), l.Missing(true))
	assert.Equal(t, int64(5), l.acknowledged())
}

func TestLineRoundTrips(t *testing.T) {
	for _, s := range []Stream{Spans, LogRecords, Points, FileLines} {
		got, id, ok := ParseLine(Line(s, 12345))
		require.True(t, ok, s)
		assert.Equal(t, s, got)
		assert.Equal(t, uint64(12345), id)
	}
}

func TestParseLineRefuses(t *testing.T) {
	for name, line := range map[string]string{
		"no marker":      "hello",
		"empty":          "fid=",
		"unknown stream": "fid=x12",
		"no digits":      "fid=l",
		"zero":           "fid=l0",
		"not a number":   "fid=l12a",
	} {
		t.Run(name, func(t *testing.T) {
			_, _, ok := ParseLine(line)
			assert.False(t, ok)
		})
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add(Line(FileLines, 7))
	f.Add("2026-12-02T14:00:00Z stdout F fid=t1")
	f.Fuzz(func(t *testing.T, line string) {
		if s, id, ok := ParseLine(line); ok {
			assert.NotZero(t, id)
			assert.Contains(t, []Stream{Spans, LogRecords, Points, FileLines}, s)
		}
	})
}
