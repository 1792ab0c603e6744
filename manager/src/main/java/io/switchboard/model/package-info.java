/**
 * Kubernetes Service semantics resolved for this node: validation of Services, EndpointSlices and Nodes,
 * which Services get dataplane entries, the frontends of each service port, and the endpoints chosen for
 * internal and external traffic exactly as kube-proxy's {@code CategorizeEndpoints} chooses them.
 *
 * <p>{@link io.switchboard.model.ClusterModel} is the entry point: it holds the current objects and reports
 * which {@link io.switchboard.model.ServicePortKey service ports} changed on each update, each resolved to an
 * immutable {@link io.switchboard.model.ServicePortState}.
 */
package io.switchboard.model;
