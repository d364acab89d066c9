"""Test speed only, behaviour unchanged: work that moto and the libraries around it repeat for every test or call,
done once. Applied by the conftest of test/python and of test/rehearsal before anything imports moto."""

import functools
import types

import botocore.hooks
import botocore.loaders
import botocore.session
import jsonpath_ng
import jsonpath_ng.ext


_applied = False
_argspec_by_code = {}
_default_alias_names = {}


@functools.lru_cache(maxsize=1)
def _sns_signing_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _accepts_kwargs_by_code(original):
    """botocore checks every handler registered on a new session or client for **kwargs with inspect, about a hundred
    per session. The answer depends only on a plain function's code object, so it is kept per code object (closures
    made anew per session share one); any other callable is inspected as before."""

    def accepts_kwargs(func):
        function = getattr(func, "__func__", func)
        if type(function) is not types.FunctionType or "__signature__" in function.__dict__:
            return original(func)
        code = function.__code__
        if code not in _argspec_by_code:
            _argspec_by_code[code] = original(func)
        return _argspec_by_code[code]

    return accepts_kwargs


def _share_default_alias_names(original_init):
    """Each new session's event aliaser works out again which event names botocore's fixed alias table renames (a
    split and a list search per name per alias); with the default table the answers are the same for every session."""

    def init(self, event_emitter, event_aliases=None):
        original_init(self, event_emitter, event_aliases)
        if event_aliases is None:
            self._alias_name_cache = _default_alias_names

    return init


def _reused_callback_responses(factory):
    """Every mock_aws() start registers seven HTTP methods times every backend's URL patterns (over a thousand objects)
    with the `requests` mock; the objects for one method, pattern and callback are made once and registered again."""
    made = {}

    def callback_response(method, url, callback, **kwargs):
        if kwargs:
            return factory(method=method, url=url, callback=callback, **kwargs)
        key = (method, url, callback)
        if key not in made:
            made[key] = factory(method=method, url=url, callback=callback)
        return made[key]

    return callback_response


def apply():
    """Once per process: pytest runs a conftest anew in every session, and the mutation run starts a session per
    mutant, each of which would otherwise get a new, empty model loader (and wrap the parsers once more)."""
    global _applied
    if _applied:
        return
    _applied = True
    # moto gives every test a fresh boto3 session, and each new session would read the service models from disk
    # again; one shared (read-only) model loader serves them all.
    shared_loader = botocore.loaders.create_loader()
    botocore.session.create_loader = lambda search_path_string=None: shared_loader
    # jsonpath_ng rebuilds its parser tables on every parse() call; parsed paths are immutable, so they are cached
    # (before moto imports parse by name).
    jsonpath_ng.parse = functools.lru_cache(maxsize=None)(jsonpath_ng.parse)
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=None)(jsonpath_ng.ext.parse)
    # moto's SNS generates a new 2048-bit RSA key for each subscription, to sign what it delivers (tens of
    # milliseconds each, and every test subscribes anew); one key signs for all of them.
    from moto.sns import models as sns_models

    sns_models.Subscription.private_key = lambda self: _sns_signing_key()
    botocore.hooks.accepts_kwargs = _accepts_kwargs_by_code(botocore.hooks.accepts_kwargs)
    botocore.hooks.EventAliaser.__init__ = _share_default_alias_names(botocore.hooks.EventAliaser.__init__)
    from moto.core import models as moto_models

    moto_models.CallbackResponse = _reused_callback_responses(moto_models.CallbackResponse)
