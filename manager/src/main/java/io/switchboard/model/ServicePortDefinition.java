package io.switchboard.model;

/**
 * One validated entry of {@code spec.ports}.
 *
 * @param name     the port name, empty when unnamed
 * @param protocol TCP or UDP
 * @param port     the service port, 1..65535
 * @param nodePort the nodePort, 0 when none
 */
public record ServicePortDefinition(String name, Protocol protocol, int port, int nodePort)
{
}
