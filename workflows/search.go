package workflows

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Search attributes of a journey, so that the Temporal UI can filter journeys too. The
// values are pseudonymous: a unit, a staff id, a phase, a step and a date.
var (
	SearchUnit         = temporal.NewSearchAttributeKeyKeyword("StegvisUnit")
	SearchGuide        = temporal.NewSearchAttributeKeyKeyword("StegvisGuide")
	SearchPhase        = temporal.NewSearchAttributeKeyKeyword("StegvisPhase")
	SearchStep         = temporal.NewSearchAttributeKeyInt64("StegvisStep")
	SearchNextDeadline = temporal.NewSearchAttributeKeyTime("StegvisNextDeadline")
)

// SearchAttributes are the names and types to register in the namespace.
var SearchAttributes = map[string]enums.IndexedValueType{
	SearchUnit.GetName():         enums.INDEXED_VALUE_TYPE_KEYWORD,
	SearchGuide.GetName():        enums.INDEXED_VALUE_TYPE_KEYWORD,
	SearchPhase.GetName():        enums.INDEXED_VALUE_TYPE_KEYWORD,
	SearchStep.GetName():         enums.INDEXED_VALUE_TYPE_INT,
	SearchNextDeadline.GetName(): enums.INDEXED_VALUE_TYPE_DATETIME,
}

// missingSearchAttributes lists the attributes the namespace does not have yet.
func missingSearchAttributes(ctx context.Context, c client.Client, namespace string) (map[string]enums.IndexedValueType, error) {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("list search attributes of %s: %w", namespace, err)
	}
	missing := map[string]enums.IndexedValueType{}
	for name, typ := range SearchAttributes {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
		}
	}
	return missing, nil
}

// RegisterSearchAttributes adds the journey's search attributes to the namespace when
// they are missing. stegvis dev does it at start; on a shared cluster an operator does
// it once (README, "Search attributes").
//
// The server's services learn of new attributes when their namespace caches refresh
// (NamespaceCacheRefreshInterval); until then a journey that upserts them fails its
// workflow tasks. When it adds any, it waits settle for that to pass.
func RegisterSearchAttributes(ctx context.Context, c client.Client, namespace string, settle time.Duration) error {
	missing, err := missingSearchAttributes(ctx, c, namespace)
	if err != nil || len(missing) == 0 {
		return err
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("add search attributes to %s: %w", namespace, err)
	}
	select {
	case <-time.After(settle):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SearchAttributesRegistered reports whether every journey search attribute exists. A
// journey upserts them only then: upserting an unknown attribute would fail every
// workflow task.
func SearchAttributesRegistered(ctx context.Context, c client.Client, namespace string) (bool, error) {
	missing, err := missingSearchAttributes(ctx, c, namespace)
	return err == nil && len(missing) == 0, err
}

// searchValues are the indexed values of a journey.
type searchValues struct {
	unit, guide, phase string
	step               int
	next               time.Time
}

func (j *journey) searchValues() searchValues {
	v := searchValues{unit: j.state.Unit, guide: j.state.GuideID, phase: string(j.state.Phase), step: j.state.Step}
	for i := range j.state.Deadlines {
		d := &j.state.Deadlines[i]
		if d.isOpen() && (v.next.IsZero() || d.DueAt.Before(v.next)) {
			v.next = d.DueAt
		}
	}
	return v
}

// index upserts the search attributes that changed since the last upsert of this run.
func (j *journey) index(ctx workflow.Context) error {
	if !j.state.Indexed {
		return nil
	}
	v := j.searchValues()
	if j.lastIndex != nil && *j.lastIndex == v {
		return nil
	}
	updates := []temporal.SearchAttributeUpdate{SearchUnit.ValueSet(v.unit), SearchPhase.ValueSet(v.phase), SearchStep.ValueSet(int64(v.step))}
	if v.guide != "" {
		updates = append(updates, SearchGuide.ValueSet(v.guide))
	} else {
		updates = append(updates, SearchGuide.ValueUnset())
	}
	if !v.next.IsZero() {
		updates = append(updates, SearchNextDeadline.ValueSet(v.next))
	} else {
		updates = append(updates, SearchNextDeadline.ValueUnset())
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		return fmt.Errorf("upsert search attributes: %w", err)
	}
	j.lastIndex = &v
	return nil
}
