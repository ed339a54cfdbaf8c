package admin

import (
	"context"
	"net/http"
	"net/url"
)

// InstanceList is the answer of GET /v1/instances.
type InstanceList struct {
	Instances []InstanceInfo `json:"instances"`
}

// Instances lists the instances the server emulates.
func (c *Client) Instances(ctx context.Context) ([]InstanceInfo, error) {
	var l InstanceList
	err := c.do(ctx, http.MethodGet, "/v1/instances", nil, &l)
	return l.Instances, err
}

// AddInstance adds an instance while the server runs.
func (c *Client) AddInstance(ctx context.Context, spec InstanceSpec) (InstanceInfo, error) {
	var out InstanceInfo
	err := c.do(ctx, http.MethodPost, "/v1/instances", spec, &out)
	return out, err
}

// SetInstanceSources changes the client source addresses an instance serves.
func (c *Client) SetInstanceSources(ctx context.Context, id string, sources []string) (InstanceInfo, error) {
	var out InstanceInfo
	err := c.do(ctx, http.MethodPatch, "/v1/instances/"+url.PathEscape(id), map[string][]string{"sources": sources}, &out)
	return out, err
}

// RemoveInstance removes an instance; its clients get the default instance
// or 404.
func (c *Client) RemoveInstance(ctx context.Context, id string) (InstanceInfo, error) {
	var out InstanceInfo
	err := c.do(ctx, http.MethodDelete, "/v1/instances/"+url.PathEscape(id), nil, &out)
	return out, err
}
