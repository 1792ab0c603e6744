package io.switchboard.model;

/**
 * The unit the datapath programs: one port of one Service, printed as {@code namespace/name:portName/PROTOCOL}.
 * TCP and UDP on the same port number are two service ports.
 *
 * @param service  the Service
 * @param portName the port's name, empty for the single unnamed port
 * @param protocol the port's protocol
 */
public record ServicePortKey(NamespacedName service, String portName, Protocol protocol)
{
    @Override
    public String toString()
    {
        return service + ":" + portName + "/" + protocol;
    }
}
