package io.github.autocert4j.cli;

/** A tiny JSON writer (the CLI needs no JSON library): objects, arrays, strings, numbers, booleans, null. */
final class Json {
    private final StringBuilder b = new StringBuilder();
    private boolean needComma;

    Json beginObject() {
        comma();
        b.append('{');
        needComma = false;
        return this;
    }

    Json endObject() {
        b.append('}');
        needComma = true;
        return this;
    }

    Json beginArray() {
        comma();
        b.append('[');
        needComma = false;
        return this;
    }

    Json endArray() {
        b.append(']');
        needComma = true;
        return this;
    }

    Json name(String name) {
        comma();
        string(name);
        b.append(':');
        needComma = false;
        return this;
    }

    Json value(String s) {
        comma();
        if (s == null) {
            b.append("null");
        } else {
            string(s);
        }
        needComma = true;
        return this;
    }

    Json value(long n) {
        comma();
        b.append(n);
        needComma = true;
        return this;
    }

    Json value(boolean v) {
        comma();
        b.append(v);
        needComma = true;
        return this;
    }

    private void comma() {
        if (needComma) {
            b.append(',');
            needComma = false;
        }
    }

    private void string(String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }

    @Override
    public String toString() {
        return b.toString();
    }
}
