package config

import (
	"reflect"
	"testing"

	"github.com/imdsemu/imdsemu/rolestore"
)

// Parse copies each field of an entity's doc into the rolestore field of
// the same name (entities) and silently skips a field without one, which
// only finish may read: a field misnamed here would be lost.
func TestEntityDocsNameRolestoreFields(t *testing.T) {
	forFinish := map[string]bool{"profileDoc.Role": true, "oidcDoc.JWKSFile": true, "samlDoc.MetadataFile": true}
	docs, seed := reflect.TypeFor[fileDoc](), reflect.TypeFor[rolestore.Seed]()
	for i := range docs.NumField() {
		list := docs.Field(i)
		if list.Anonymous {
			continue // the settings
		}
		out, ok := seed.FieldByName(list.Name)
		if !ok {
			t.Errorf("fileDoc.%s: rolestore.Seed has no such list", list.Name)
			continue
		}
		doc, entity := list.Type.Elem(), out.Type.Elem()
		for j := range doc.NumField() {
			f := doc.Field(j)
			target, ok := entity.FieldByName(f.Name)
			switch name := doc.Name() + "." + f.Name; {
			case forFinish[name] && ok:
				t.Errorf("%s: copied to %s.%s too; finish is to set it", name, entity.Name(), f.Name)
			case !forFinish[name] && !ok:
				t.Errorf("%s: %s has no field of that name, so it would be lost", name, entity.Name())
			case ok && !f.Type.ConvertibleTo(target.Type):
				t.Errorf("%s: %s does not convert to %s", name, f.Type, target.Type)
			}
		}
	}
}
