package rolestore

// ValidateEntity is Validate with a document problem (an *Error with its IAM
// code) reported as a *ValidationError on the Document field, as seeds and
// config files report every problem.
func (p ManagedPolicy) ValidateEntity() error {
	err := p.Validate()
	if e, ok := err.(*Error); ok {
		return &ValidationError{Entity: EntityPolicy, Name: p.Name, Field: "Document", Reason: e.Message}
	}
	return err
}
