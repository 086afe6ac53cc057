package workflows

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/stegvis/stegvis/calendar"
	"github.com/stegvis/stegvis/program"
)

// Error types carried by temporal.ApplicationError, so that callers can tell a
// person's mistake from a fault.
const (
	ErrTypeInvalid  = "InvalidRequest" // the request breaks a rule; the message says which
	ErrTypeConflict = "Conflict"       // the request does not fit the journey's current state
)

// FieldError names one field that is wrong and what to do about it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	// Rule is the message before its values were filled in, and Args those values:
	// together they let a client say the same in another language.
	Rule string   `json:"rule,omitempty"`
	Args []string `json:"args,omitempty"`
}

// Problems collects field errors.
type Problems []FieldError

func (p *Problems) add(field, format string, args ...any) {
	fe := FieldError{Field: field, Message: fmt.Sprintf(format, args...), Rule: format}
	for _, a := range args {
		fe.Args = append(fe.Args, fmt.Sprint(a))
	}
	*p = append(*p, fe)
}

// Err returns nil when there are no problems, or an ApplicationError of type
// ErrTypeInvalid whose details are the field errors.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	msgs := make([]string, len(p))
	for i, f := range p {
		msgs[i] = f.Field + ": " + f.Message
	}
	return temporal.NewNonRetryableApplicationError(strings.Join(msgs, "; "), ErrTypeInvalid, nil, []FieldError(p))
}

var (
	participantIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	// A Swedish personal identity number: 10 or 12 digits, maybe with - or + before
	// the last four. Never allowed as a participant id.
	personnummerPattern = regexp.MustCompile(`^(\d{2})?\d{6}[-+]?\d{4}$`)
	clockPattern        = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d$`)
	weekdays            = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
)

// ClockSkew is how far in the future a recorded time may lie: clocks on guides'
// laptops drift, but a plan signed tomorrow is a typo.
const ClockSkew = 5 * time.Minute

// CheckParticipantID returns what is wrong with a participant id, or "".
func CheckParticipantID(id string) string {
	switch {
	case id == "":
		return "is required: give the participant's pseudonymous id from the case system"
	case personnummerPattern.MatchString(id):
		return "looks like a personal identity number; use the pseudonymous id from the case system, never a personnummer"
	case !participantIDPattern.MatchString(id):
		return "must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit"
	}
	return ""
}

// ValidateStart checks a start request.
func ValidateStart(s StartJourney, now time.Time) Problems {
	var p Problems
	if msg := CheckParticipantID(s.ParticipantID); msg != "" {
		p.add("participantId", "%s", msg)
	}
	if s.ProgramID == "" {
		p.add("programId", "is required: name the programme, for example \"jobbgaranti\"")
	}
	if strings.TrimSpace(s.Unit) == "" {
		p.add("unit", "is required: give the unit that runs the journey, for example \"arbetsmarknad\"")
	} else if len(s.Unit) > 64 {
		p.add("unit", "must be at most 64 characters")
	}
	if s.ReferredAt.IsZero() {
		p.add("referredAt", "is required: the date or time the participant was referred, for example \"2026-11-23\"")
	} else if s.ReferredAt.After(now.Add(ClockSkew)) {
		p.add("referredAt", "lies in the future; give the date the referral was made")
	}
	if s.Priority < 0 || s.Priority > 3 {
		p.add("priority", "must be 1 (most urgent), 2 or 3; leave it out for 2")
	}
	if s.GuideID != "" && !participantIDPattern.MatchString(s.GuideID) {
		p.add("guideId", "must be 1–64 letters, digits, '.', '_' or '-'")
	}
	return p
}

// recordedTime checks a time a person says something happened at: given, not in the
// future, and not before what it follows (after, named by afterWhat).
func (p *Problems) recordedTime(field string, at, now time.Time, what string, after time.Time, afterWhat string) {
	switch {
	case at.IsZero():
		p.add(field, "is required: when %s", what)
	case at.After(now.Add(ClockSkew)):
		p.add(field, "lies in the future; record it when it has happened")
	case at.Before(after):
		p.add(field, "is before %s (%s); check the date", afterWhat, after.Format(time.DateOnly))
	}
}

func (p *Problems) text(field, value string, max int, hint string) {
	switch {
	case strings.TrimSpace(value) == "":
		p.add(field, "is required: %s", hint)
	case len(value) > max:
		p.add(field, "must be at most %d characters", max)
	}
}

func conflict(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrTypeConflict, nil)
}

func (s *JourneyState) validateGuide(g AssignGuide, now time.Time) error {
	var p Problems
	if !g.From.IsZero() {
		after, afterWhat := s.ReferredAt, "the referral"
		if n := len(s.Guides); n > 0 {
			after, afterWhat = s.Guides[n-1].From, "the current guide's start"
		}
		p.recordedTime("from", g.From, now, "the guide took over", after, afterWhat)
	}
	if g.GuideID == "" {
		p.add("guideId", "is required: the staff id of the new guide")
	} else if !participantIDPattern.MatchString(g.GuideID) {
		p.add("guideId", "must be 1–64 letters, digits, '.', '_' or '-'")
	}
	if len(g.HandoverNote) > 4000 {
		p.add("handoverNote", "must be at most 4000 characters")
	}
	if err := p.Err(); err != nil {
		return err
	}
	if g.GuideID == s.GuideID {
		return conflict("%s is already the guide; nothing to change", g.GuideID)
	}
	return nil
}

func (s *JourneyState) validateMapping(m Mapping, now time.Time) error {
	var p Problems
	p.recordedTime("recordedAt", m.RecordedAt, now, "the mapping was made", s.ReferredAt, "the referral")
	p.text("adaptationNeeds", m.AdaptationNeeds, 4000, "adaptation needs for physical and mental barriers, or \"none\"")
	p.text("interestsAndExperience", m.InterestsAndExperience, 4000, "interests, strengths and earlier life and work experience")
	p.text("ownView", m.OwnView, 4000, "how the participant sees their own situation and what matters now")
	p.text("motivation", m.Motivation, 4000, "what motivates the participant")
	p.text("health", m.Health, 4000, "sleep, food and exercise, or \"not discussed\"")
	p.text("workCapacity", m.WorkCapacity, 4000, "the assessment of work capacity")
	return p.Err()
}

func (s *JourneyState) validateDeepenedPlan(d DeepenedPlan, now time.Time) error {
	if s.Plan == nil {
		return conflict("the action plan is not signed yet; record the plan before the deepened plan")
	}
	var p Problems
	p.recordedTime("signedAt", d.SignedAt, now, "the deepened plan was signed", s.Plan.SignedAt, "the action plan")
	p.text("summary", d.Summary, 4000, "what the deepened plan sets out")
	for i, ps := range d.PurchasedServices {
		f := fmt.Sprintf("purchasedServices[%d]", i)
		p.text(f+".provider", ps.Provider, 200, "the authorised provider")
		p.text(f+".service", ps.Service, 500, "the service bought")
	}
	return p.Err()
}

// validatePlan checks a plan against the journey. It never changes state, so it can
// run as an Update validator.
func (s *JourneyState) validatePlan(pl Plan, now time.Time) error {
	if s.Plan != nil {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the plan was already signed on %s; the first plan is recorded once", s.Plan.SignedAt.Format(time.DateOnly)),
			ErrTypeConflict, nil)
	}
	var p Problems
	switch {
	case pl.SignedAt.IsZero():
		p.add("signedAt", "is required: the date or time the participant and guide signed the plan")
	case pl.SignedAt.After(now.Add(ClockSkew)):
		p.add("signedAt", "lies in the future; record the plan when it has been signed")
	case pl.SignedAt.Before(s.ReferredAt):
		p.add("signedAt", "is before the referral (%s); check the date", s.ReferredAt.Format(time.RFC3339))
	}
	if strings.TrimSpace(pl.MainActivity) == "" {
		p.add("mainActivity", "is required: the main placement or activity, for example \"work training at the municipal depot\"")
	} else if len(pl.MainActivity) > 500 {
		p.add("mainActivity", "must be at most 500 characters")
	}
	if len(pl.WeeklySchedule) == 0 {
		p.add("weeklySchedule", "needs at least one time, for example {\"day\":\"monday\",\"from\":\"09:00\",\"to\":\"12:00\"}")
	}
	for i, sl := range pl.WeeklySchedule {
		f := fmt.Sprintf("weeklySchedule[%d]", i)
		if !slices.Contains(weekdays, sl.Day) {
			p.add(f+".day", "must be one of %s", strings.Join(weekdays, ", "))
		}
		okFrom, okTo := clockPattern.MatchString(sl.From), clockPattern.MatchString(sl.To)
		if !okFrom {
			p.add(f+".from", "must be a time of day as HH:MM, for example 09:00")
		}
		if !okTo {
			p.add(f+".to", "must be a time of day as HH:MM, for example 12:00")
		}
		if okFrom && okTo && sl.From >= sl.To {
			p.add(f+".to", "must be later than from (%s)", sl.From)
		}
	}
	if len(pl.SubGoals) == 0 {
		p.add("subGoals", "needs at least one sub-goal, for example \"write a CV\"")
	}
	for i, g := range pl.SubGoals {
		if strings.TrimSpace(g) == "" {
			p.add(fmt.Sprintf("subGoals[%d]", i), "is empty; remove it or write the goal")
		}
	}
	switch {
	case pl.FollowUpAt.IsZero():
		p.add("followUpAt", "is required: when the first follow-up will be held")
	case !pl.SignedAt.IsZero() && !pl.FollowUpAt.After(pl.SignedAt):
		p.add("followUpAt", "must be after signedAt")
	}
	for i, e := range pl.Extras {
		if !slices.Contains(PlanExtras, e) {
			p.add(fmt.Sprintf("extras[%d]", i), "must be one of %s", strings.Join(PlanExtras, ", "))
		}
	}
	return p.Err()
}

// AsFieldErrors extracts the field errors of an ErrTypeInvalid error, if any.
func AsFieldErrors(err error) (Problems, bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeInvalid || !appErr.HasDetails() {
		return nil, false
	}
	var p Problems
	if appErr.Details(&p) != nil {
		return nil, false
	}
	return p, true
}

func (s *JourneyState) validateMeeting(m Meeting, prog program.Program, now time.Time) error {
	var p Problems
	if !slices.Contains(MeetingKinds, m.Kind) {
		p.add("kind", "must be one of %s", joinAny(MeetingKinds))
	}
	if !slices.Contains(Outcomes, m.Outcome) {
		p.add("outcome", "must be one of %s", joinAny(Outcomes))
	}
	p.recordedTime("occurredAt", m.OccurredAt, now, "the meeting was (to be) held", s.ReferredAt, "the referral")
	for i, who := range m.Participants {
		if !slices.Contains(Attendees, who) {
			p.add(fmt.Sprintf("participants[%d]", i), "must be one of %s", strings.Join(Attendees, ", "))
		}
	}
	if len(m.Note) > 4000 {
		p.add("note", "must be at most 4000 characters")
	}
	review := m.Outcome == OutcomeHeld && (m.Kind == MeetingFollowUp || m.Kind == MeetingReview)
	if !m.NextReviewAt.IsZero() && !review {
		p.add("nextReviewAt", "is set only when a follow-up or review was held; remove it")
	}
	if review && !m.NextReviewAt.IsZero() && !m.OccurredAt.IsZero() && prog.Deadlines.Review != nil {
		// Validators do not run on replay (the SDK skips them for accepted updates), so
		// the holiday list may be read here; its result never reaches history.
		from, to := prog.Deadlines.Review.Window(validatorCalendar, m.OccurredAt) //workflowcheck:ignore
		end := to.Add(time.Nanosecond)
		if !prog.Deadlines.Review.Within.IsExact() {
			end = calendar.EndOfDay(to) // any time on the window's last day
		}
		if m.NextReviewAt.Before(from) || !m.NextReviewAt.Before(end) {
			p.add("nextReviewAt", "must lie in the programme's review window, %s to %s; pick a day in it, or leave it out for %s",
				from.Format(time.DateOnly), to.Format(time.DateOnly), from.Format(time.DateOnly))
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	if review && s.Plan == nil {
		return conflict("there is no signed plan to follow up yet; record the plan first, or record the meeting as kind \"other\"")
	}
	return nil
}

var validatorCalendar = calendar.Swedish()

func joinAny[T ~string](vs []T) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = string(v)
	}
	return strings.Join(parts, ", ")
}

func (s *JourneyState) validateStep(st PassStep, now time.Time) error {
	var p Problems
	if st.Step < 1 || st.Step > 5 {
		p.add("step", "must be 1 to 5")
	}
	after, afterWhat := s.ReferredAt, "the referral"
	if n := len(s.Steps); n > 0 {
		after, afterWhat = s.Steps[n-1].PassedAt, fmt.Sprintf("step %d", s.Steps[n-1].Step)
	}
	p.recordedTime("passedAt", st.PassedAt, now, "the step was passed", after, afterWhat)
	if err := p.Err(); err != nil {
		return err
	}
	if st.Step != s.Step+1 {
		return conflict("steps are passed in order: the participant is on step %d, so the next is step %d", s.Step, s.Step+1)
	}
	return nil
}

func (s *JourneyState) validatePause(pa Pause, now time.Time) error {
	if s.Pause != nil {
		return conflict("the journey is already paused since %s (%s); resume it first", s.Pause.From.Format(time.DateOnly), s.Pause.Reason)
	}
	var p Problems
	if !slices.Contains(PauseReasons, pa.Reason) {
		p.add("reason", "must be one of %s", joinAny(PauseReasons))
	}
	after, afterWhat := s.ReferredAt, "the referral"
	if n := len(s.Pauses); n > 0 {
		after, afterWhat = s.Pauses[n-1].To, "the end of the last pause"
	}
	p.recordedTime("from", pa.From, now, "the pause started", after, afterWhat)
	if len(pa.Note) > 4000 {
		p.add("note", "must be at most 4000 characters")
	}
	return p.Err()
}

func (s *JourneyState) validateResume(r Resume, now time.Time) error {
	if s.Pause == nil {
		return conflict("the journey is not paused; nothing to resume")
	}
	var p Problems
	p.recordedTime("at", r.At, now, "the clock starts again", s.Pause.From, "the start of the pause")
	return p.Err()
}

func (s *JourneyState) validateTransfer(t Transfer) error {
	var p Problems
	p.text("toUnit", t.ToUnit, 64, "the unit that takes over, for example \"vuxenutbildning\"")
	if len(t.Note) > 4000 {
		p.add("note", "must be at most 4000 characters")
	}
	if err := p.Err(); err != nil {
		return err
	}
	if t.ToUnit == s.Unit {
		return conflict("the journey is already in %s", s.Unit)
	}
	return nil
}

func (s *JourneyState) validateExit(e Exit, now time.Time) error {
	var p Problems
	if !slices.Contains(ExitReasons, e.Reason) {
		p.add("reason", "must be one of %s", joinAny(ExitReasons))
	}
	p.recordedTime("at", e.At, now, "the participant left", s.ReferredAt, "the referral")
	if e.Reason == ExitOther && strings.TrimSpace(e.Note) == "" {
		p.add("note", "is required when the reason is \"other\": say why the participant left")
	}
	if len(e.Note) > 4000 {
		p.add("note", "must be at most 4000 characters")
	}
	return p.Err()
}
