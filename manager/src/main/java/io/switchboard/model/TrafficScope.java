package io.switchboard.model;

/** Which traffic policy governs a frontend. */
public enum TrafficScope
{
    /** ClusterIP traffic: {@code internalTrafficPolicy}. */
    INTERNAL,
    /** NodePort, load balancer and externalIP traffic: {@code externalTrafficPolicy}. */
    EXTERNAL
}
