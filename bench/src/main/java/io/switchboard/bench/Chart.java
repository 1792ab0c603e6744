package io.switchboard.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/** A PNG of cost against number of services, one line per system, one panel per measure (Java2D only). */
final class Chart
{
    private static final int PANEL_W = 420;
    private static final int PANEL_H = 340;
    private static final Map<String, Color> COLORS = Map.of("switchboard", new Color(0x1f77b4), "iptables",
        new Color(0xd62728), "nftables", new Color(0x2ca02c), "switchboard-abi", new Color(0x8fbfe0), "new_flow",
        new Color(0x1f77b4), "established", new Color(0xff7f0e), "affinity", new Color(0x9467bd), "not_service",
        new Color(0x7f7f7f), "empty", Color.BLACK);

    private Chart()
    {
    }

    static void write(final Report report, final Path file) throws IOException
    {
        final Map<String, Map<Integer, Double>> p50 = new LinkedHashMap<>();
        report.connect.forEach((system, values) -> values.forEach((n, c) ->
            p50.computeIfAbsent(system, k -> new TreeMap<>()).put(n, c.p50Micros())));
        final Map<String, Map<Integer, Double>> datapath = new LinkedHashMap<>(report.datapath);
        if (report.datapathEmpty != null && !report.datapath.isEmpty())
        {
            final Map<Integer, Double> empty = new TreeMap<>();
            report.datapath.values().iterator().next().keySet().forEach(n -> empty.put(n, report.datapathEmpty));
            datapath.put("empty", empty);
        }
        write(report.programSeconds, report.changeMillis, p50, datapath, file);
    }

    /** Draws the chart again from a {@code results.json} (for example after a change to the drawing). */
    static void rewrite(final Path json, final Path file) throws IOException
    {
        final JsonNode root = new ObjectMapper().readTree(json.toFile());
        final JsonNode bySize = root.path("by_services");
        final Map<String, Map<Integer, Double>> datapath = new LinkedHashMap<>();
        root.path("datapath_ns").properties().forEach(entry ->
        {
            if (entry.getValue().isObject())
            {
                datapath.put(entry.getKey(), series(entry.getValue()));
            }
        });
        if (root.path("datapath_ns").path("empty").isNumber() && !datapath.isEmpty())
        {
            final Map<Integer, Double> empty = new TreeMap<>();
            datapath.values().iterator().next().keySet().forEach(n ->
                empty.put(n, root.path("datapath_ns").path("empty").asDouble()));
            datapath.put("empty", empty);
        }
        write(bySystem(bySize.path("program_s")), bySystem(bySize.path("one_change_ms")),
            bySystem(bySize.path("connect_p50_us")), datapath, file);
    }

    private static Map<String, Map<Integer, Double>> bySystem(final JsonNode node)
    {
        final Map<String, Map<Integer, Double>> result = new LinkedHashMap<>();
        node.properties().forEach(entry -> result.put(entry.getKey(), series(entry.getValue())));
        return result;
    }

    private static Map<Integer, Double> series(final JsonNode node)
    {
        final Map<Integer, Double> values = new TreeMap<>();
        node.properties().forEach(entry ->
        {
            if (entry.getValue().isNumber())
            {
                values.put(Integer.valueOf(entry.getKey()), entry.getValue().asDouble());
            }
        });
        return values;
    }

    private static void write(final Map<String, Map<Integer, Double>> program,
        final Map<String, Map<Integer, Double>> change, final Map<String, Map<Integer, Double>> connectP50,
        final Map<String, Map<Integer, Double>> datapath, final Path file) throws IOException
    {
        // the pod-direct baselines are in the table; on the chart they would hide the systems
        final Map<String, Map<Integer, Double>> p50 = new LinkedHashMap<>(connectP50);
        p50.keySet().removeIf(name -> name.contains("pod direct"));
        final List<Map.Entry<String, Map<String, Map<Integer, Double>>>> panels = List.of(
            Map.entry("program from nothing (s)", program),
            Map.entry("one-endpoint change, median (ms)", change),
            Map.entry("connect latency p50 (µs)", p50),
            Map.entry("sb_xdp ns/packet (test run)", datapath));
        final BufferedImage image = new BufferedImage(PANEL_W * panels.size(), PANEL_H, BufferedImage.TYPE_INT_RGB);
        final Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, image.getWidth(), image.getHeight());
        for (int i = 0; i < panels.size(); i++)
        {
            panel(g, i * PANEL_W, panels.get(i).getKey(), panels.get(i).getValue());
        }
        g.dispose();
        ImageIO.write(image, "png", file.toFile());
    }

    /** x: services on a log scale; y: linear from 0. */
    private static void panel(final Graphics2D g, final int x0, final String title,
        final Map<String, Map<Integer, Double>> series)
    {
        final int left = x0 + 60;
        final int right = x0 + PANEL_W - 15;
        final int top = 52;
        final int bottom = PANEL_H - 50;
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.drawString(title, x0 + 15, 20);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.drawLine(left, bottom, right, bottom);
        g.drawLine(left, top, left, bottom);
        final TreeSet<Integer> xs = new TreeSet<>();
        double max = 0;
        for (final Map<Integer, Double> values : series.values())
        {
            xs.addAll(values.keySet());
            for (final Double v : values.values())
            {
                max = Math.max(max, v == null ? 0 : v);
            }
        }
        if (xs.isEmpty() || max <= 0)
        {
            g.drawString("not measured", left + 20, (top + bottom) / 2);
            return;
        }
        final double lo = Math.log10(xs.first());
        final double hi = Math.max(Math.log10(xs.last()), lo + 1);
        final double yMax = max * 1.1;
        for (int t = 0; t <= 4; t++)
        {
            final int y = bottom - (bottom - top) * t / 4;
            g.setColor(new Color(0xdddddd));
            g.drawLine(left + 1, y, right, y);
            g.setColor(Color.BLACK);
            g.drawString(String.format(Locale.ROOT, "%.3g", yMax * t / 4), x0 + 5, y + 4);
        }
        for (final int n : xs)
        {
            final int x = xOf(n, lo, hi, left, right);
            g.drawString(String.format(Locale.ROOT, "%,d", n), x - 15, bottom + 15);
        }
        g.drawString("services (log scale)", (left + right) / 2 - 45, bottom + 32);
        int legend = 0;
        for (final var entry : series.entrySet())
        {
            final Color color = COLORS.getOrDefault(entry.getKey(), Color.DARK_GRAY);
            g.setColor(color);
            g.setStroke(new BasicStroke(2f));
            int px = -1;
            int py = -1;
            for (final var point : entry.getValue().entrySet())
            {
                final int x = xOf(point.getKey(), lo, hi, left, right);
                final int y = bottom - (int)Math.round((bottom - top) * point.getValue() / yMax);
                g.fillOval(x - 3, y - 3, 7, 7);
                if (px >= 0)
                {
                    g.drawLine(px, py, x, y);
                }
                px = x;
                py = y;
            }
            g.drawString(entry.getKey(), left + 10 + (legend % 3) * 115, top - 8 + (legend / 3) * 12);
            legend++;
        }
        g.setStroke(new BasicStroke(1f));
    }

    private static int xOf(final int n, final double lo, final double hi, final int left, final int right)
    {
        return left + 20 + (int)Math.round((right - left - 40) * (Math.log10(n) - lo) / (hi - lo));
    }
}
