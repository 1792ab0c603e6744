package io.switchboard.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Rows shown as kubectl shows them (headers in capitals, columns aligned, three spaces apart) or as a
 * JSON array of objects whose keys are the columns' JSON names. A cell may hold a richer value for JSON
 * (a list, a number) than the text the table prints.
 */
final class Table
{
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private record Column(String header, String key)
    {
    }

    private final List<Column> columns = new ArrayList<>();
    private final List<Map<String, Object>> rows = new ArrayList<>();

    /** A table whose columns are given as JSON keys; the headers are the keys in capitals, '_' as '-'. */
    static Table of(final String... keys)
    {
        final Table table = new Table();
        for (final String key : keys)
        {
            table.columns.add(new Column(key.replaceAll("([a-z])([A-Z])", "$1-$2").toUpperCase(), key));
        }
        return table;
    }

    /** Adds a row; values in column order. */
    Table row(final Object... values)
    {
        final Map<String, Object> row = new LinkedHashMap<>();
        for (int i = 0; i < columns.size(); i++)
        {
            row.put(columns.get(i).key(), i < values.length ? values[i] : null);
        }
        rows.add(row);
        return this;
    }

    boolean isEmpty()
    {
        return rows.isEmpty();
    }

    List<Map<String, Object>> rows()
    {
        return rows;
    }

    void print(final PrintWriter out, final boolean json)
    {
        out.print(json ? json(rows) : text());
        out.flush();
    }

    static String json(final Object value)
    {
        try
        {
            return JSON.writeValueAsString(value) + System.lineSeparator();
        }
        catch (final JsonProcessingException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    String text()
    {
        final int[] widths = new int[columns.size()];
        for (int i = 0; i < columns.size(); i++)
        {
            widths[i] = columns.get(i).header().length();
            for (final Map<String, Object> row : rows)
            {
                widths[i] = Math.max(widths[i], cell(row.get(columns.get(i).key())).length());
            }
        }
        final StringBuilder text = new StringBuilder();
        line(text, widths, columns.stream().map(Column::header).toList());
        for (final Map<String, Object> row : rows)
        {
            line(text, widths, columns.stream().map(column -> cell(row.get(column.key()))).toList());
        }
        return text.toString();
    }

    private static void line(final StringBuilder text, final int[] widths, final List<String> cells)
    {
        final StringBuilder line = new StringBuilder();
        for (int i = 0; i < cells.size(); i++)
        {
            line.append(cells.get(i));
            if (i < cells.size() - 1)
            {
                line.append(" ".repeat(widths[i] - cells.get(i).length() + 3));
            }
        }
        text.append(line.toString().stripTrailing()).append(System.lineSeparator());
    }

    private static String cell(final Object value)
    {
        return switch (value)
        {
            case null -> "<none>";
            case List<?> list -> list.isEmpty() ? "<none>" : String.join(",", list.stream().map(String::valueOf).toList());
            default -> String.valueOf(value);
        };
    }
}
