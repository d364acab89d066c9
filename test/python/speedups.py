"""Test speed only, behaviour unchanged: work that moto and the libraries around it repeat for every test or call,
done once. Applied by the conftest of test/python and of test/rehearsal before anything imports moto."""

import functools

import botocore.loaders
import botocore.session
import jsonpath_ng
import jsonpath_ng.ext


_applied = False


@functools.lru_cache(maxsize=1)
def _sns_signing_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


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
