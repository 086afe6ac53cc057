package workflows

import (
	"sort"
	"time"

	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/program"
)

// JourneyView is the journey as a person reads it at a given moment: the state with
// every deadline's status worked out. The query returns JourneyState, because a query
// must not depend on the clock; the caller turns it into a view with its own now.
type JourneyView struct {
	ParticipantID string            `json:"participantId"`
	Program       ProgramRef        `json:"program"`
	Unit          string            `json:"unit"`
	Priority      int               `json:"priority"`
	GuideID       string            `json:"guideId,omitempty"`
	Phase         Phase             `json:"phase"`
	ReferredAt    time.Time         `json:"referredAt"`
	Plan          *Plan             `json:"plan,omitempty"`
	Mapping       *Mapping          `json:"mapping,omitempty"`
	DeepenedPlan  *DeepenedPlan     `json:"deepenedPlan,omitempty"`
	Guides        []GuideAssignment `json:"guides"`
	Timeline      []TimelineEvent   `json:"timeline"`
	Meetings      MeetingCounts     `json:"meetings"`
	Step          int               `json:"step"`
	Steps         []StepPassed      `json:"steps"`
	Pause         *Pause            `json:"pause,omitempty"`
	Pauses        []PausePeriod     `json:"pauses"`
	Transfers     []Transfer        `json:"transfers"`
	Exit          *Exit             `json:"exit,omitempty"`
	Deadlines     []DeadlineView    `json:"deadlines"` // open ones, soonest first
	Completed     []DeadlineView    `json:"completed"` // met ones, in the order they were met
	AsOf          time.Time         `json:"asOf"`
}

// DeadlineView is one deadline with its status.
type DeadlineView struct {
	ID              string          `json:"id"`
	Kind            DeadlineKind    `json:"kind"`
	DueDate         string          `json:"dueDate"`
	DueAt           time.Time       `json:"dueAt"`
	Status          Status          `json:"status"`
	EscalationLevel int             `json:"escalationLevel"`
	NextNotice      *program.Notice `json:"nextNotice,omitempty"`
	MetAt           *time.Time      `json:"metAt,omitempty"`
	OnTime          *bool           `json:"onTime,omitempty"`
	ClosedAt        *time.Time      `json:"closedAt,omitempty"`
	ClosedReason    string          `json:"closedReason,omitempty"`
	Step            int             `json:"step,omitempty"`
	WindowFrom      string          `json:"windowFrom,omitempty"` // a review: first day of its window
	WindowTo        string          `json:"windowTo,omitempty"`   // a review: overdue only after this day
}

// View works out the journey's statuses at now.
func (s JourneyState) View(now time.Time) JourneyView {
	v := JourneyView{
		ParticipantID: s.Start.ParticipantID,
		Program:       s.Program,
		Unit:          s.Unit,
		Priority:      s.Start.EffectivePriority(),
		GuideID:       s.GuideID,
		Phase:         s.Phase,
		ReferredAt:    s.ReferredAt,
		Plan:          s.Plan,
		Mapping:       s.Mapping,
		DeepenedPlan:  s.DeepenedPlan,
		Guides:        append([]GuideAssignment{}, s.Guides...),
		Timeline:      append([]TimelineEvent{}, s.Timeline...),
		Meetings:      s.Meetings,
		Step:          s.Step,
		Steps:         append([]StepPassed{}, s.Steps...),
		Pause:         s.Pause,
		Pauses:        append([]PausePeriod{}, s.Pauses...),
		Transfers:     append([]Transfer{}, s.Transfers...),
		Exit:          s.Exit,
		Deadlines:     []DeadlineView{},
		Completed:     []DeadlineView{},
		AsOf:          now.In(calendar.Stockholm),
	}
	for i := range s.Deadlines {
		d := &s.Deadlines[i]
		dv := DeadlineView{ID: d.ID, Kind: d.Kind, DueDate: d.DueDate, DueAt: d.DueAt, EscalationLevel: d.escalationLevel(),
			WindowFrom: d.WindowFrom, WindowTo: d.WindowTo, Step: d.Step}
		if d.MetAt != nil {
			onTime := d.MetAt.Before(d.DueAt)
			dv.Status, dv.MetAt, dv.OnTime = StatusMet, d.MetAt, &onTime
			v.Completed = append(v.Completed, dv)
			continue
		}
		if d.ClosedAt != nil {
			dv.Status, dv.ClosedAt, dv.ClosedReason = StatusClosed, d.ClosedAt, d.ClosedReason
			v.Completed = append(v.Completed, dv)
			continue
		}
		switch {
		case !now.Before(d.DueAt):
			dv.Status = StatusOverdue
		case !now.Before(d.DueFrom):
			dv.Status = StatusDue
		default:
			dv.Status = StatusUpcoming
		}
		for j := range d.Notices {
			if !d.handled(j) {
				n := d.Notices[j]
				dv.NextNotice = &n
				break
			}
		}
		v.Deadlines = append(v.Deadlines, dv)
	}
	sort.SliceStable(v.Deadlines, func(i, k int) bool { return v.Deadlines[i].DueAt.Before(v.Deadlines[k].DueAt) })
	return v
}
