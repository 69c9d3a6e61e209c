package io.github.autocert4j.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.jose4j.json.JsonUtil;
import org.jose4j.lang.JoseException;

/**
 * The machine-readable results: every section adds rows here and writes them to
 * {@code <outDir>/<section>.json}; {@link Report} merges all of them into
 * {@code benchmarks/results.json}. Adding a row is one call:
 *
 * <pre>{@code
 * Rows rows = new Rows();
 * rows.add("handshake_ratio_jdk", 0.997, "ratio", ">= 0.99", Rows.Spread.of(perRoundRatios), "median of 7 interleaved rounds");
 * rows.write(out, "handshake");
 * }</pre>
 *
 * <p>{@code target} is a comparison ({@code >= x}, {@code <= x}, {@code == x}, {@code > x},
 * {@code < x}) that decides {@code met}, or {@code "info"} for a figure without a target (then
 * {@code met} is null).
 */
final class Rows {
    /** Min and max (and count) of the per-round values a median was taken from. */
    record Spread(double min, double max, int n) {
        static Spread of(List<Double> values) {
            if (values == null || values.isEmpty()) {
                return null;
            }
            return new Spread(Collections.min(values), Collections.max(values), values.size());
        }
    }

    record Row(String id, double value, String unit, String target, Boolean met, Spread spread, String note) {
    }

    private final List<Row> rows = new ArrayList<>();

    Row add(String id, double value, String unit, String target, Spread spread, String note) {
        Row r = new Row(id, value, unit, target, met(value, target), spread, note);
        rows.add(r);
        Bench.log(Bench.f("row %s = %s %s (target %s: %s)%s", id, format(value), unit, target,
                r.met() == null ? "-" : r.met() ? "met" : "MISSED", spread == null ? "" : Bench.f(", spread %s-%s n=%d",
                        format(spread.min()), format(spread.max()), spread.n())));
        return r;
    }

    List<Row> rows() {
        return List.copyOf(rows);
    }

    static Boolean met(double value, String target) {
        String t = target.trim();
        if (t.equals("info")) {
            return null;
        }
        if (Double.isNaN(value)) {
            return false;
        }
        String[] ops = {">=", "<=", "==", ">", "<"};
        for (String op : ops) {
            if (t.startsWith(op)) {
                double x = Double.parseDouble(t.substring(op.length()).trim());
                return switch (op) {
                    case ">=" -> value >= x;
                    case "<=" -> value <= x;
                    case "==" -> value == x;
                    case ">" -> value > x;
                    default -> value < x;
                };
            }
        }
        throw new IllegalArgumentException("target must be 'info' or start with >=, <=, ==, >, <: " + target);
    }

    static String format(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e12) {
            return Long.toString((long) v);
        }
        return String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%.1f" : "%.3f", v);
    }

    /** Writes {@code <out>/<section>.json}: a JSON array of rows. */
    void write(Path out, String section) throws IOException {
        List<Object> list = new ArrayList<>();
        for (Row r : rows) {
            list.add(toMap(r));
        }
        Files.writeString(out.resolve(section + ".json"), toJson(list, "") + "\n", StandardCharsets.UTF_8);
    }

    static Map<String, Object> toMap(Row r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.id());
        m.put("value", Double.isNaN(r.value()) ? null : r.value());
        m.put("unit", r.unit());
        m.put("target", r.target());
        m.put("met", r.met());
        if (r.spread() == null) {
            m.put("spread", null);
        } else {
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("min", r.spread().min());
            s.put("max", r.spread().max());
            s.put("n", r.spread().n());
            m.put("spread", s);
        }
        m.put("note", r.note());
        return m;
    }

    /** Reads the rows of one section file (or of results.json's "rows"). */
    @SuppressWarnings("unchecked")
    static List<Row> read(String json) throws IOException {
        Object parsed;
        try {
            parsed = JsonUtil.parseJson("{\"rows\":" + json.strip() + "}").get("rows");
        } catch (JoseException e) {
            throw new IOException("malformed rows: " + e.getMessage(), e);
        }
        if (!(parsed instanceof List<?>)) {
            throw new IOException("malformed rows: expected a JSON array of rows");
        }
        List<Row> out = new ArrayList<>();
        for (Object o : (List<Object>) parsed) {
            out.add(fromMap((Map<String, Object>) o));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    static Row fromMap(Map<String, Object> m) {
        Object v = m.get("value");
        Spread spread = null;
        if (m.get("spread") instanceof Map<?, ?> s) {
            Map<String, Object> sm = (Map<String, Object>) s;
            spread = new Spread(((Number) sm.get("min")).doubleValue(), ((Number) sm.get("max")).doubleValue(), ((Number) sm.get("n")).intValue());
        }
        return new Row((String) m.get("id"), v == null ? Double.NaN : ((Number) v).doubleValue(), (String) m.get("unit"),
                (String) m.get("target"), (Boolean) m.get("met"), spread, (String) m.get("note"));
    }

    /** A small pretty-printing JSON writer (maps, lists, strings, numbers, booleans, null). */
    @SuppressWarnings("unchecked")
    static String toJson(Object o, String indent) {
        if (o == null) {
            return "null";
        }
        if (o instanceof String s) {
            StringBuilder b = new StringBuilder("\"");
            for (char c : s.toCharArray()) {
                switch (c) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    case '\r' -> b.append("\\r");
                    case '\t' -> b.append("\\t");
                    default -> {
                        if (c < 0x20) {
                            b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                        } else {
                            b.append(c);
                        }
                    }
                }
            }
            return b.append('"').toString();
        }
        if (o instanceof Double d) {
            return d.isNaN() || d.isInfinite() ? "null" : d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString(d.longValue())
                    : String.format(Locale.ROOT, "%.6g", d).replaceAll("(\\.\\d*?)0+(e|$)", "$1$2").replaceAll("\\.(e|$)", "$1");
        }
        if (o instanceof Number || o instanceof Boolean) {
            return o.toString();
        }
        String in = indent + "  ";
        if (o instanceof Map<?, ?> map) {
            List<String> parts = new ArrayList<>();
            for (Map.Entry<String, Object> e : ((Map<String, Object>) map).entrySet()) {
                parts.add(in + toJson(e.getKey(), in) + ": " + toJson(e.getValue(), in));
            }
            return parts.isEmpty() ? "{}" : "{\n" + String.join(",\n", parts) + "\n" + indent + "}";
        }
        if (o instanceof List<?> list) {
            List<String> parts = new ArrayList<>();
            for (Object e : list) {
                parts.add(in + toJson(e, in));
            }
            return parts.isEmpty() ? "[]" : "[\n" + String.join(",\n", parts) + "\n" + indent + "]";
        }
        throw new IllegalArgumentException("cannot write " + o.getClass());
    }
}
