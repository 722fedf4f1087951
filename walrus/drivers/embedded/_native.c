/* walrus.drivers.embedded._native: the optional compiled helpers of the
 * in-process engines, built at install when a C compiler is at hand
 * (hatch_build.py); each has a pure-Python twin giving the same results.
 *
 * pack(args, encode): a command's arguments as bytes, as redis-py sends
 * them (str as UTF-8, bytes as they are, anything else through encode).
 *
 * bind() and command(): one rlite command per C call, the compiled twin of
 * walrus.drivers.rlite.native's ctypes call path.
 *
 * It needs no rlite header and links against nothing but Python: bind()
 * receives the addresses of rliteCommandArgv, rliteFreeReplyObject and
 * rliteGetReply (from hirlite's extension module, through ctypes), the
 * offsets of the context's replyPosition and replyLength fields, and the
 * Python callable that turns an error message into an error reply. An error
 * reply is an ordinary value: nothing here can raise on a reply rlite gives.
 * The GIL stays held during the call (rlite's write hook is a ctypes
 * callback), as it is with ctypes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>

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

/* command(handle, args): run args (a list or tuple of bytes, at least one)
 * on the rlite context at address handle; the reply as native.convert()
 * gives it. No reply at all raises the exception bind() was given. */
static PyObject *command(PyObject *self, PyObject *const *argv_in,
                         Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2 || !(PyList_Check(argv_in[1]) || PyTuple_Check(argv_in[1]))) {
        PyErr_SetString(PyExc_TypeError, "command(handle, list of bytes)");
        return NULL;
    }
    if (rl_command == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "bind() was not called");
        return NULL;
    }
    void *handle = PyLong_AsVoidPtr(argv_in[0]);
    if (handle == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "no rlite handle");
        return NULL;
    }
    /* a tuple as it is; a list copied (its items could change under us) */
    PyObject *list = PySequence_Tuple(argv_in[1]);
    if (list == NULL)
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(list);
    if (count < 1 || count > INT_MAX) {
        Py_DECREF(list);
        PyErr_SetString(PyExc_ValueError, "a command needs its name");
        return NULL;
    }
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
            Py_DECREF(list);
            return PyErr_NoMemory();
        }
    }
    PyObject *result = NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyTuple_GET_ITEM(list, i);
        if (!PyBytes_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "command arguments must be bytes");
            goto done;
        }
        argv[i] = PyBytes_AS_STRING(item);
        lengths[i] = (size_t)PyBytes_GET_SIZE(item);
    }
    reply_t *reply = rl_command(handle, (int)count, argv, lengths);
    if (reply == NULL) {
        PyErr_SetString(no_reply, "rlite gave no reply");
        goto done;
    }
    result = convert(reply);
    rl_free_reply(reply);
    /* drop replies rlite queued beyond the one answer (see native._drain) */
    char *context = (char *)handle;
    while (*(int *)(context + position_at) < *(int *)(context + length_at)) {
        void *extra = NULL;
        rl_get_reply(handle, &extra);
        if (extra == NULL)
            break;
        rl_free_reply(extra);
    }
done:
    Py_DECREF(list);
    if (argv != stack_argv) {
        PyMem_Free(argv);
        PyMem_Free(lengths);
    }
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
        else
            out = PyObject_CallOneArg(encode, item);
        if (out == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, out);
    }
    return list;
}

static PyMethodDef methods[] = {
    {"pack", (PyCFunction)(void (*)(void))pack, METH_FASTCALL,
     "pack(args, encode): the arguments as bytes (str as UTF-8)"},
    {"bind", bind, METH_VARARGS,
     "bind(command, free_reply, get_reply, position_offset, length_offset, "
     "error_reply, no_reply_exception)"},
    {"command", (PyCFunction)(void (*)(void))command, METH_FASTCALL,
     "command(handle, args): one rlite command, its reply converted"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native", "walrus's compiled helpers", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
