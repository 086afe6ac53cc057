package api

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"

	"github.com/stegvis/stegvis/store"
	"github.com/stegvis/stegvis/textcheck"
	"github.com/stegvis/stegvis/workflows"
)

// Person is who a participant is. It is read from PostgreSQL, where it is encrypted,
// and never enters the workflow engine.
type Person struct {
	Name           string     `json:"name,omitempty"`
	PersonalNumber string     `json:"personalNumber,omitempty"`
	CaseWorkerID   string     `json:"caseWorkerId,omitempty"`
	ErasedAt       *time.Time `json:"erasedAt,omitempty"`
}

var personalNumberPattern = regexp.MustCompile(`^(\d{8})[-+]?(\d{4})$`)

// normalisePersonalNumber checks a Swedish personal (or coordination) identity number,
// YYYYMMDD-NNNN with its Luhn check digit, and returns it as YYYYMMDD-NNNN.
func normalisePersonalNumber(v string) (string, string) {
	m := personalNumberPattern.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return "", "must be twelve digits, written YYYYMMDD-NNNN"
	}
	digits := m[1][2:] + m[2] // the check digit covers YYMMDDNNN
	sum := 0
	for i, r := range digits[:9] {
		d := int(r - '0')
		if i%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	if check := (10 - sum%10) % 10; strconv.Itoa(check) != digits[9:] {
		return "", "has a wrong check digit; check the number for a typing error"
	}
	month, _ := strconv.Atoi(m[1][4:6])
	day, _ := strconv.Atoi(m[1][6:8])
	if month < 1 || month > 12 || day < 1 || (day > 31 && (day < 61 || day > 91)) { // 61–91: coordination numbers
		return "", "does not start with a valid date YYYYMMDD"
	}
	return m[1] + "-" + m[2], ""
}

// saveIdentity seals and stores who the participant is, before the journey starts.
// False when it has answered the request.
func (s *server) saveIdentity(c *gin.Context, req StartRequest) bool {
	if req.Name == "" && req.PersonalNumber == "" && req.CaseWorkerID == "" {
		return true
	}
	var problems workflows.Problems
	pnr := ""
	if req.PersonalNumber != "" {
		var msg string
		if pnr, msg = normalisePersonalNumber(req.PersonalNumber); msg != "" {
			problems = append(problems, workflows.FieldError{Field: "personalNumber", Message: msg})
		}
	}
	name := strings.TrimSpace(req.Name)
	if len(name) > 200 {
		problems = append(problems, workflows.FieldError{Field: "name", Message: "is longer than 200 characters"})
	}
	if req.CaseWorkerID != "" && !textcheck.ValidID(req.CaseWorkerID) {
		problems = append(problems, workflows.FieldError{Field: "caseWorkerId", Message: "must be a staff id such as cw-dina"})
	}
	if len(problems) > 0 {
		fail(c, http.StatusUnprocessableEntity, CodeValidationFailed, "the journey cannot be started: "+summary(problems), problems...)
		return false
	}
	id := store.Identity{ParticipantID: req.ParticipantID, CaseWorkerID: req.CaseWorkerID}
	for _, f := range []struct {
		column, value string
		dst           *[]byte
	}{{store.ColumnPersonalNumber, pnr, &id.PersonalNumber}, {store.ColumnName, name, &id.Name}} {
		if f.value == "" {
			continue
		}
		keyID, sealed, err := s.keys.Seal([]byte(f.value), store.IdentityAAD(req.ParticipantID, f.column))
		if err != nil {
			zerolog.Ctx(c.Request.Context()).Error().Err(err).Msg("sealing personal data failed")
			fail(c, http.StatusInternalServerError, CodeInternal, "personal data could not be encrypted; check ENCRYPTION_KEYS and quote the request id")
			return false
		}
		id.KeyID, *f.dst = keyID, sealed
	}
	if _, err := s.db.SaveIdentity(c.Request.Context(), id); err != nil {
		s.readModelFailed(c, err)
		return false
	}
	return true
}

// person reads and opens who the participant is; nil when nothing is stored.
func (s *server) person(c *gin.Context, participantID string) (*Person, error) {
	id, err := s.db.IdentityOf(c.Request.Context(), participantID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p := &Person{CaseWorkerID: id.CaseWorkerID, ErasedAt: id.ErasedAt}
	for _, f := range []struct {
		column string
		sealed []byte
		dst    *string
	}{{store.ColumnPersonalNumber, id.PersonalNumber, &p.PersonalNumber}, {store.ColumnName, id.Name, &p.Name}} {
		if f.sealed == nil {
			continue
		}
		plain, err := s.keys.Open(id.KeyID, f.sealed, store.IdentityAAD(participantID, f.column))
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", f.column, err)
		}
		*f.dst = string(plain)
	}
	return p, nil
}
