/* walrus.drivers.embedded._native: the optional compiled helpers of the
 * in-process engines, built at install when a C compiler is at hand
 * (hatch_build.py); each has a pure-Python twin giving the same results.
 *
 * pack(args, encode): a command's arguments as bytes, as redis-py sends
 * them (str as UTF-8, bytes as they are, an int or a float as its repr(),
 * anything else through encode).
 *
 * bind() and command(): one rlite command per C call, the compiled twin of
 * walrus.drivers.rlite.native's ctypes call path; many(): several commands
 * in one C call; typed(): a command run only over keys of its type, TYPE
 * and the command in one C call.
 *
 * It needs no rlite header and links against nothing but Python: bind()
 * receives the addresses of rliteCommandArgv, rliteFreeReplyObject and
 * rliteGetReply (from hirlite's extension module, through ctypes), the
 * offsets of the context's replyPosition and replyLength fields, and the
 * Python callable that turns an error message into an error reply. An error
 * reply is an ordinary value: nothing here can raise on a reply rlite gives.
 * The GIL stays held during the call (rlite's write hook is a ctypes
 * callback), as it is with ctypes.
 *
 * splice(content, changes): a Vedis bucket's lines with some replaced,
 * added or removed, the twin of walrus.drivers.vedis.buckets._splice_lines.
 *
 * plain_pickle(data) and plain_value(value): the checks that let the
 * "pickle" serializer (walrus.serializers) call pickle.loads and
 * pickle.dumps on plain data; without them it takes its general path.
 *
 * storable_pairs(data): a dict's pairs flattened when every key and value
 * is what Redis stores as it is; the twin of
 * walrus.features.containers.base._flat_storable.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <string.h>

typedef struct reply {
    int type;
    long long integer;
    int len;
    char *str;
    size_t elements;
    struct reply **element;
} reply_t;

typedef reply_t *(*command_fn)(void *, int, char **, size_t *);
typedef void (*free_fn)(void *);
typedef int (*get_reply_fn)(void *, void **);

static command_fn rl_command = NULL;
static free_fn rl_free_reply = NULL;
static get_reply_fn rl_get_reply = NULL;
static Py_ssize_t position_at = -1, length_at = -1;
static PyObject *error_factory = NULL;
static PyObject *no_reply = NULL; /* the exception when rlite gives no reply */

enum { STRING = 1, ARRAY = 2, INTEGER = 3, NIL = 4, STATUS = 5, ERROR = 6 };
#define ON_STACK 16

static PyObject *convert(reply_t *r) {
    switch (r->type) {
    case STRING:
    case STATUS:
        return PyBytes_FromStringAndSize(r->str, r->len);
    case INTEGER:
        return PyLong_FromLongLong(r->integer);
    case NIL:
        Py_RETURN_NONE;
    case ARRAY: {
        PyObject *list = PyList_New((Py_ssize_t)r->elements);
        if (list == NULL)
            return NULL;
        for (size_t i = 0; i < r->elements; i++) {
            PyObject *item = convert(r->element[i]);
            if (item == NULL) {
                Py_DECREF(list);
                return NULL;
            }
            PyList_SET_ITEM(list, (Py_ssize_t)i, item);
        }
        return list;
    }
    case ERROR: {
        PyObject *message = PyBytes_FromStringAndSize(r->str, r->len);
        if (message == NULL)
            return NULL;
        PyObject *error = PyObject_CallOneArg(error_factory, message);
        Py_DECREF(message);
        return error;
    }
    default:
        PyErr_Format(PyExc_RuntimeError, "rlite gave a reply of unknown type %d",
                     r->type);
        return NULL;
    }
}

static PyObject *bind(PyObject *self, PyObject *args) {
    unsigned long long command, free_reply, get_reply;
    Py_ssize_t position, length;
    PyObject *factory, *missing;
    (void)self;
    if (!PyArg_ParseTuple(args, "KKKnnOO", &command, &free_reply, &get_reply,
                          &position, &length, &factory, &missing))
        return NULL;
    if (!command || !free_reply || !get_reply || position < 0 || length < 0 ||
        !PyCallable_Check(factory) || !PyExceptionClass_Check(missing)) {
        PyErr_SetString(PyExc_ValueError, "bind() needs rlite's functions");
        return NULL;
    }
    rl_command = (command_fn)(uintptr_t)command;
    rl_free_reply = (free_fn)(uintptr_t)free_reply;
    rl_get_reply = (get_reply_fn)(uintptr_t)get_reply;
    position_at = position;
    length_at = length;
    Py_INCREF(factory);
    Py_XSETREF(error_factory, factory);
    Py_INCREF(missing);
    Py_XSETREF(no_reply, missing);
    Py_RETURN_NONE;
}

/* Drop replies rlite queued beyond the one answer (see native._drain). */
static void drain(void *handle) {
    char *context = (char *)handle;
    while (*(int *)(context + position_at) < *(int *)(context + length_at)) {
        void *extra = NULL;
        rl_get_reply(handle, &extra);
        if (extra == NULL)
            break;
        rl_free_reply(extra);
    }
}

/* The rlite context at address `address`, or NULL with an exception set. */
static void *context_at(PyObject *address) {
    if (rl_command == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "bind() was not called");
        return NULL;
    }
    void *handle = PyLong_AsVoidPtr(address);
    if (handle == NULL && !PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "no rlite handle");
    return handle;
}

/* The arguments as a tuple of bytes, at least one: a tuple as it is, a list
 * copied (its items could change under us); NULL with an exception set. */
static PyObject *arguments(PyObject *args) {
    if (!(PyList_Check(args) || PyTuple_Check(args))) {
        PyErr_SetString(PyExc_TypeError, "the arguments must be a list of bytes");
        return NULL;
    }
    PyObject *tuple = PySequence_Tuple(args);
    if (tuple == NULL)
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(tuple);
    if (count < 1 || count > INT_MAX) {
        Py_DECREF(tuple);
        PyErr_SetString(PyExc_ValueError, "a command needs its name");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!PyBytes_Check(PyTuple_GET_ITEM(tuple, i))) {
            Py_DECREF(tuple);
            PyErr_SetString(PyExc_TypeError, "command arguments must be bytes");
            return NULL;
        }
    }
    return tuple;
}

/* Run the command `tuple` (checked by arguments()); its reply converted. */
static PyObject *run(void *handle, PyObject *tuple) {
    Py_ssize_t count = PyTuple_GET_SIZE(tuple);
    char *stack_argv[ON_STACK];
    size_t stack_lengths[ON_STACK];
    char **argv = stack_argv;
    size_t *lengths = stack_lengths;
    if (count > ON_STACK) {
        argv = PyMem_Malloc(sizeof(char *) * (size_t)count);
        lengths = PyMem_Malloc(sizeof(size_t) * (size_t)count);
        if (argv == NULL || lengths == NULL) {
            PyMem_Free(argv);
            PyMem_Free(lengths);
            return PyErr_NoMemory();
        }
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyTuple_GET_ITEM(tuple, i);
        argv[i] = PyBytes_AS_STRING(item);
        lengths[i] = (size_t)PyBytes_GET_SIZE(item);
    }
    PyObject *result = NULL;
    reply_t *reply = rl_command(handle, (int)count, argv, lengths);
    if (reply == NULL) {
        PyErr_SetString(no_reply, "rlite gave no reply");
    } else {
        result = convert(reply);
        rl_free_reply(reply);
        drain(handle);
    }
    if (argv != stack_argv) {
        PyMem_Free(argv);
        PyMem_Free(lengths);
    }
    return result;
}

/* run() on args as arguments() checks them: the converted reply, or NULL
 * with an exception set. */
static PyObject *run_arguments(void *handle, PyObject *args) {
    PyObject *tuple = arguments(args);
    if (tuple == NULL)
        return NULL;
    PyObject *result = run(handle, tuple);
    Py_DECREF(tuple);
    return result;
}

/* command(handle, args): run args (a list or tuple of bytes, at least one)
 * on the rlite context at address handle; the reply as native.convert()
 * gives it. No reply at all raises the exception bind() was given. */
static PyObject *command(PyObject *self, PyObject *const *argv_in,
                         Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "command(handle, list of bytes)");
        return NULL;
    }
    void *handle = context_at(argv_in[0]);
    return handle == NULL ? NULL : run_arguments(handle, argv_in[1]);
}

/* read(handle, suffix, wrong, args): command(), except that a string reply
 * ending with suffix (bytes) gives wrong instead (the rlite driver's GET: a
 * stream kept in a string is WRONGTYPE). The arguments come last for
 * functools.partial. */
static PyObject *read_string(PyObject *self, PyObject *const *argv_in, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 4 || !PyBytes_Check(argv_in[1])) {
        PyErr_SetString(PyExc_TypeError, "read(handle, suffix, wrong, args)");
        return NULL;
    }
    PyObject *reply = command(NULL, (PyObject *const[]){argv_in[0], argv_in[3]}, 2);
    if (reply == NULL || !PyBytes_CheckExact(reply))
        return reply;
    Py_ssize_t size = PyBytes_GET_SIZE(reply);
    Py_ssize_t tail = PyBytes_GET_SIZE(argv_in[1]);
    if (size >= tail &&
        memcmp(PyBytes_AS_STRING(reply) + size - tail, PyBytes_AS_STRING(argv_in[1]),
               (size_t)tail) == 0) {
        Py_DECREF(reply);
        return Py_NewRef(argv_in[2]);
    }
    return reply;
}

/* many(handle, commands): command() for each of a list of commands, in
 * order, in one C call; the list of their replies. */
static PyObject *many(PyObject *self, PyObject *const *argv_in, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2 || !(PyList_Check(argv_in[1]) || PyTuple_Check(argv_in[1]))) {
        PyErr_SetString(PyExc_TypeError, "many(handle, list of commands)");
        return NULL;
    }
    void *handle = context_at(argv_in[0]);
    if (handle == NULL)
        return NULL;
    /* a copy: the caller's list could change while replies are converted */
    PyObject *commands = PySequence_Tuple(argv_in[1]);
    if (commands == NULL)
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(commands);
    PyObject *replies = PyList_New(count);
    for (Py_ssize_t i = 0; replies != NULL && i < count; i++) {
        PyObject *reply = run_arguments(handle, PyTuple_GET_ITEM(commands, i));
        if (reply == NULL)
            Py_CLEAR(replies);
        else
            PyList_SET_ITEM(replies, i, reply);
    }
    Py_DECREF(commands);
    return replies;
}

/* Whether the key is missing or of type `kind` (rlite's TYPE, a status
 * reply): 1 yes, 0 no (another type, or TYPE failed), -1 no reply. */
static int of_kind(void *handle, PyObject *key, const char *kind,
                   Py_ssize_t kind_length) {
    char *argv[2] = {"TYPE", PyBytes_AS_STRING(key)};
    size_t lengths[2] = {4, (size_t)PyBytes_GET_SIZE(key)};
    reply_t *reply = rl_command(handle, 2, argv, lengths);
    if (reply == NULL) {
        PyErr_SetString(no_reply, "rlite gave no reply");
        return -1;
    }
    int ok = 0;
    if (reply->type == STATUS || reply->type == STRING) {
        ok = (reply->len == 4 && memcmp(reply->str, "none", 4) == 0) ||
             (reply->len == kind_length &&
              memcmp(reply->str, kind, (size_t)kind_length) == 0);
    }
    rl_free_reply(reply);
    drain(handle);
    return ok;
}

/* typed(handle, args, kind, first, stop, wrong): as command(), but only if
 * each key args[first:stop] is missing or of type kind (bytes, as TYPE
 * names it); else `wrong` is returned and nothing more runs. rlite crashes
 * natively on some commands over a key of another type (the ZRANGE family):
 * the check and the command in one C call. */
static PyObject *typed(PyObject *self, PyObject *const *argv_in, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 6 || !PyBytes_Check(argv_in[2])) {
        PyErr_SetString(PyExc_TypeError,
                        "typed(handle, list of bytes, kind, first, stop, wrong)");
        return NULL;
    }
    Py_ssize_t first = PyLong_AsSsize_t(argv_in[3]);
    if (first == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t stop = PyLong_AsSsize_t(argv_in[4]);
    if (stop == -1 && PyErr_Occurred())
        return NULL;
    void *handle = context_at(argv_in[0]);
    if (handle == NULL)
        return NULL;
    PyObject *tuple = arguments(argv_in[1]);
    if (tuple == NULL)
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(tuple);
    if (first < 0)
        first = 0;
    if (stop > count)
        stop = count;
    const char *kind = PyBytes_AS_STRING(argv_in[2]);
    Py_ssize_t kind_length = PyBytes_GET_SIZE(argv_in[2]);
    PyObject *result = NULL;
    for (Py_ssize_t i = first; i < stop; i++) {
        int ok = of_kind(handle, PyTuple_GET_ITEM(tuple, i), kind, kind_length);
        if (ok < 0)
            goto done;
        if (!ok) {
            result = Py_NewRef(argv_in[5]);
            goto done;
        }
    }
    result = run(handle, tuple);
done:
    Py_DECREF(tuple);
    return result;
}

/* pack(args, encode): a list of bytes (see the file's comment). */
static PyObject *pack(PyObject *self, PyObject *const *argv_in, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2 || !PyTuple_Check(argv_in[0])) {
        PyErr_SetString(PyExc_TypeError, "pack(tuple, encode)");
        return NULL;
    }
    PyObject *args = argv_in[0], *encode = argv_in[1];
    Py_ssize_t count = PyTuple_GET_SIZE(args);
    PyObject *list = PyList_New(count);
    if (list == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyTuple_GET_ITEM(args, i), *out;
        if (PyBytes_CheckExact(item))
            out = Py_NewRef(item);
        else if (PyUnicode_CheckExact(item))
            out = PyUnicode_AsUTF8String(item);
        else if (PyLong_CheckExact(item) || PyFloat_CheckExact(item)) {
            PyObject *text = PyObject_Repr(item); /* as redis-py's encoder */
            out = text == NULL ? NULL : PyUnicode_AsUTF8String(text);
            Py_XDECREF(text);
        } else
            out = PyObject_CallOneArg(encode, item);
        if (out == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, out);
    }
    return list;
}

/* One line of a bucket, "<field> <value>", for splice(). */
static int line_of(PyObject *field, PyObject *value, const char **f, Py_ssize_t *f_len,
                   const char **v, Py_ssize_t *v_len) {
    *f = PyUnicode_AsUTF8AndSize(field, f_len);
    if (*f == NULL)
        return -1;
    *v = NULL;
    *v_len = 0;
    if (value != Py_None && (*v = PyUnicode_AsUTF8AndSize(value, v_len)) == NULL)
        return -1;
    return 0;
}

/* splice(content, changes): content (lines "<field> <value>" joined by
 * "\n") with the line of each field in changes (a dict of str to str, or
 * to None: removed) replaced, appended or removed; and the change in the
 * number of lines. One copy of the content per change. */
static PyObject *splice(PyObject *self, PyObject *const *argv_in, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2 || !PyBytes_Check(argv_in[0]) || !PyDict_Check(argv_in[1])) {
        PyErr_SetString(PyExc_TypeError, "splice(bytes, dict of str to str or None)");
        return NULL;
    }
    PyObject *text = Py_NewRef(argv_in[0]), *field, *value;
    Py_ssize_t at = 0, delta = 0;
    while (PyDict_Next(argv_in[1], &at, &field, &value)) {
        const char *f, *v;
        Py_ssize_t f_len, v_len;
        if (line_of(field, value, &f, &f_len, &v, &v_len) < 0)
            goto fail;
        const char *s = PyBytes_AS_STRING(text);
        Py_ssize_t n = PyBytes_GET_SIZE(text), start = 0, end = -1;
        while (start < n) { /* the line that starts with "<field> " */
            const char *newline = memchr(s + start, '\n', (size_t)(n - start));
            Py_ssize_t stop = newline == NULL ? n : newline - s;
            if (stop - start > f_len && s[start + f_len] == ' ' &&
                memcmp(s + start, f, (size_t)f_len) == 0) {
                end = stop;
                break;
            }
            start = stop + 1;
        }
        Py_ssize_t cut_from, cut_to; /* the bytes replaced */
        if (end >= 0 && v != NULL) {
            cut_from = start;
            cut_to = end;
        } else if (end >= 0) { /* the line goes, with one newline */
            cut_from = start > 0 ? start - 1 : 0;
            cut_to = start > 0 || end == n ? end : end + 1;
            delta--;
        } else if (v != NULL) { /* a new last line */
            cut_from = cut_to = n;
            delta++;
        } else
            continue;
        int joined = end < 0 && n > 0; /* a newline before the new line */
        Py_ssize_t inserted = v == NULL ? 0 : joined + f_len + 1 + v_len;
        PyObject *out =
            PyBytes_FromStringAndSize(NULL, n - (cut_to - cut_from) + inserted);
        if (out == NULL)
            goto fail;
        char *o = PyBytes_AS_STRING(out);
        memcpy(o, s, (size_t)cut_from);
        o += cut_from;
        if (v != NULL) {
            if (joined)
                *o++ = '\n';
            memcpy(o, f, (size_t)f_len);
            o += f_len;
            *o++ = ' ';
            memcpy(o, v, (size_t)v_len);
            o += v_len;
        }
        memcpy(o, s + cut_to, (size_t)(n - cut_to));
        Py_SETREF(text, out);
    }
    return Py_BuildValue("(Nn)", text, delta);
fail:
    Py_DECREF(text);
    return NULL;
}

/* The unsigned little-endian number in the width bytes at p. */
static unsigned long long little_endian(const unsigned char *p, int width) {
    unsigned long long number = 0;
    for (int b = width - 1; b >= 0; b--)
        number = number << 8 | p[b];
    return number;
}

/* plain_pickle(data): whether the pickle data (protocol 2 or later, one
 * STOP at its end) uses only opcodes that build None, bools, ints, floats,
 * str, bytes, bytearray, tuples, lists, dicts, sets and frozensets, and the
 * memo: no opcode naming a global, building an object, calling, or reading
 * a persistent id or an out-of-band buffer, so pickle.loads of it imports
 * and calls nothing. Its frames as pickle writes them: a FRAME where no
 * frame is left to read, no opcode reaching past its frame's end (an
 * unpickler reading a file reads each frame apart, pickle.loads does not:
 * they would read such a pickle differently). False for any other opcode
 * and for data cut short. */
static PyObject *plain_pickle(PyObject *self, PyObject *data) {
    (void)self;
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "plain_pickle(bytes)");
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data), i = 0, frame_end = 0;
    while (i < n) {
        Py_ssize_t at = i;
        unsigned char op = p[i++];
        unsigned long long arg; /* the bytes of the opcode's argument */
        switch (op) {
        case '.': /* STOP */
            return PyBool_FromLong(i == n);
        case '(': case '0': case '1': case '2': /* MARK POP POP_MARK DUP */
        case 'N': case 0x88: case 0x89:          /* None True False */
        case ']': case 'l': case 'a': case 'e':  /* lists */
        case '}': case 'd': case 's': case 'u':  /* dicts */
        case ')': case 't': case 0x85: case 0x86: case 0x87: /* tuples */
        case 0x8f: case 0x90: case 0x91:         /* sets, frozenset */
        case 0x94:                               /* MEMOIZE */
            arg = 0;
            break;
        case 0x80: case 'K': case 'q': case 'h': /* PROTO BININT1 BINPUT BINGET */
            arg = 1;
            break;
        case 'M': /* BININT2 */
            arg = 2;
            break;
        case 'J': case 'r': case 'j': /* BININT LONG_BINPUT LONG_BINGET */
            arg = 4;
            break;
        case 'G': /* BINFLOAT */
            arg = 8;
            break;
        case 0x95: /* FRAME: its length, then the frame's opcodes */
            if (at < frame_end || n - i < 8)
                Py_RETURN_FALSE;
            arg = little_endian(p + i, 8);
            if (arg > (unsigned long long)(n - i - 8))
                Py_RETURN_FALSE;
            i += 8;
            frame_end = i + (Py_ssize_t)arg;
            continue;
        case 0x8a: case 0x8c: case 'C': /* LONG1 SHORT_BINUNICODE SHORT_BINBYTES */
            if (i >= n)
                Py_RETURN_FALSE;
            arg = 1ULL + p[i];
            break;
        case 0x8b: case 'X': case 'B': /* LONG4 BINUNICODE BINBYTES */
            if (n - i < 4)
                Py_RETURN_FALSE;
            arg = 4ULL + little_endian(p + i, 4);
            break;
        case 0x8d: case 0x8e: case 0x96: /* BINUNICODE8 BINBYTES8 BYTEARRAY8 */
            if (n - i < 8)
                Py_RETURN_FALSE;
            arg = little_endian(p + i, 8);
            if (arg > (unsigned long long)(n - i - 8))
                Py_RETURN_FALSE;
            arg += 8;
            break;
        default:
            Py_RETURN_FALSE;
        }
        if (arg > (unsigned long long)(n - i))
            Py_RETURN_FALSE;
        i += (Py_ssize_t)arg;
        if (at < frame_end && i > frame_end) /* reaches past its frame */
            Py_RETURN_FALSE;
    }
    Py_RETURN_FALSE; /* no STOP */
}

/* Whether value is plain_value()'s kind of value, within *budget objects. */
static int plain_tree(PyObject *value, int depth, Py_ssize_t *budget) {
    if (--*budget < 0 || depth > 100)
        return 0;
    PyTypeObject *type = Py_TYPE(value);
    if (value == Py_None || type == &PyBool_Type || type == &PyLong_Type ||
        type == &PyFloat_Type || type == &PyUnicode_Type || type == &PyBytes_Type)
        return 1;
    if (type == &PyList_Type || type == &PyTuple_Type) {
        Py_ssize_t size = PySequence_Fast_GET_SIZE(value);
        PyObject **items = PySequence_Fast_ITEMS(value);
        for (Py_ssize_t k = 0; k < size; k++)
            if (!plain_tree(items[k], depth + 1, budget))
                return 0;
        return 1;
    }
    if (type == &PyDict_Type) {
        Py_ssize_t at = 0;
        PyObject *key, *item;
        while (PyDict_Next(value, &at, &key, &item))
            if (!plain_tree(key, depth + 1, budget) || !plain_tree(item, depth + 1, budget))
                return 0;
        return 1;
    }
    return 0;
}

/* plain_value(value): whether value is None, a bool, an int, a float, a
 * str or bytes, or a list, tuple or dict of such values (exactly those
 * types, nested at most 100 deep, 10,000 objects at most): what pickle
 * stores without asking a reducer. Only types are read: no Python code runs. */
static PyObject *plain_value(PyObject *self, PyObject *value) {
    (void)self;
    Py_ssize_t budget = 10000;
    return PyBool_FromLong(plain_tree(value, 0, &budget));
}

/* Whether value is exactly a str, bytes, int or float (a bool is not). */
static int storable(PyObject *value) {
    PyTypeObject *type = Py_TYPE(value);
    return type == &PyUnicode_Type || type == &PyBytes_Type || type == &PyLong_Type ||
           type == &PyFloat_Type;
}

/* storable_pairs(data): [k1, v1, k2, v2 ...] when data is a dict whose keys
 * and values are all exactly str, bytes, int or float; None otherwise. */
static PyObject *storable_pairs(PyObject *self, PyObject *data) {
    (void)self;
    if (!PyDict_CheckExact(data))
        Py_RETURN_NONE;
    PyObject *flat = PyList_New(2 * PyDict_GET_SIZE(data)), *key, *value;
    if (flat == NULL)
        return NULL;
    Py_ssize_t at = 0, k = 0;
    while (PyDict_Next(data, &at, &key, &value)) {
        if (!storable(key) || !storable(value)) {
            Py_DECREF(flat);
            Py_RETURN_NONE;
        }
        PyList_SET_ITEM(flat, k++, Py_NewRef(key));
        PyList_SET_ITEM(flat, k++, Py_NewRef(value));
    }
    return flat;
}

static PyMethodDef methods[] = {
    {"pack", (PyCFunction)(void (*)(void))pack, METH_FASTCALL,
     "pack(args, encode): the arguments as bytes (str as UTF-8)"},
    {"bind", bind, METH_VARARGS,
     "bind(command, free_reply, get_reply, position_offset, length_offset, "
     "error_reply, no_reply_exception)"},
    {"command", (PyCFunction)(void (*)(void))command, METH_FASTCALL,
     "command(handle, args): one rlite command, its reply converted"},
    {"read", (PyCFunction)(void (*)(void))read_string, METH_FASTCALL,
     "read(handle, suffix, wrong, args): command(); a string reply ending "
     "with suffix gives wrong"},
    {"many", (PyCFunction)(void (*)(void))many, METH_FASTCALL,
     "many(handle, commands): command() for each command, in one call"},
    {"typed", (PyCFunction)(void (*)(void))typed, METH_FASTCALL,
     "typed(handle, args, kind, first, stop, wrong): command() once the "
     "keys args[first:stop] are missing or of type kind; else wrong"},
    {"splice", (PyCFunction)(void (*)(void))splice, METH_FASTCALL,
     "splice(content, changes): a bucket's lines changed, and the change in "
     "their number"},
    {"plain_pickle", plain_pickle, METH_O,
     "plain_pickle(data): whether the pickle builds plain values only"},
    {"storable_pairs", storable_pairs, METH_O,
     "storable_pairs(data): a dict of str, bytes, int and float flattened, or None"},
    {"plain_value", plain_value, METH_O,
     "plain_value(value): whether value is plain data pickle stores as it is"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native", "walrus's compiled helpers", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
