package io.switchboard.model;

/**
 * One validated entry of an EndpointSlice's {@code ports}: the port number its endpoints listen on for the
 * service port of the same name and protocol.
 *
 * @param name     matches the service port's name; empty for the unnamed port
 * @param protocol TCP or UDP
 * @param port     the endpoints' port number (a named targetPort may give a different number per slice)
 */
public record SlicePort(String name, Protocol protocol, int port)
{
}
