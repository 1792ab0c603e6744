/**
 * Cluster DNS served by the agent, with the records CoreDNS's kubernetes plugin gives.
 *
 * <p>The agent thread feeds accepted Services and EndpointSlices to a {@link io.switchboard.dns.DnsCatalog}
 * and, after each cycle that changed one, publishes an immutable {@link io.switchboard.dns.Zone}.
 * {@link io.switchboard.dns.DnsServer}'s threads read only the latest published zone and answer through
 * {@link io.switchboard.dns.DnsAnswers}; nothing on the query path takes a lock or caches an answer.
 */
package io.switchboard.dns;
