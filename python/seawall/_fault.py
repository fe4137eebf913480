"""Fault injection's Python face: the decorator and the blocks.

The plan, the switch, the seeded decisions and the counts are the Rust core's
(``seawall._seawall.FaultInjector``); this module carries each decision out:
it sleeps the delay (or advances the test clock), raises
:class:`InjectedFaultError`, or returns the replaced outcome.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import Any, Callable, Optional, TypeVar, Union, overload

from seawall import _seawall
from seawall._errors import InjectedFaultError

__all__ = ["FaultInjector"]

F = TypeVar("F", bound=Callable[..., Any])


class FaultInjector(_seawall.FaultInjector):
    __doc__ = _seawall.FaultInjector.__doc__
    __slots__ = ()

    @overload
    def __call__(self, fn: F, /) -> F: ...

    @overload
    def __call__(
        self,
        fn: None = None,
        /,
        *,
        key: Union[None, str, Callable[..., Optional[str]]] = None,
        outcome: Optional[Callable[[], Any]] = None,
    ) -> Callable[[F], F]: ...

    def __call__(
        self,
        fn: Optional[F] = None,
        /,
        *,
        key: Union[None, str, Callable[..., Optional[str]]] = None,
        outcome: Optional[Callable[[], Any]] = None,
    ) -> Any:
        """Decorates ``fn`` (``def`` or ``async def``) so that its calls go
        through the plan. ``key``: a str, or a function of the call's arguments
        giving its key (for rules with a key). ``outcome``: a function whose
        return value replaces a call an outcome fault fires on (without it, an
        outcome fault raises as an error fault does)."""
        if fn is None:
            return lambda fn: self._decorate(fn, key, outcome)
        return self._decorate(fn, key, outcome)

    def _decorate(
        self,
        fn: F,
        key: Union[None, str, Callable[..., Optional[str]]],
        outcome: Optional[Callable[[], Any]],
    ) -> F:
        if key is not None and not isinstance(key, str) and not callable(key):
            raise TypeError(f"invalid key: must be a str or a callable, not {type(key).__name__}")
        if outcome is not None and not callable(outcome):
            raise TypeError(f"invalid outcome: must be a callable, not {type(outcome).__name__}")

        def key_of(args: Any, kwargs: Any) -> Optional[str]:
            if key is None or isinstance(key, str):
                return key
            return key(*args, **kwargs)

        def replaced() -> Any:
            if outcome is None:
                raise InjectedFaultError(self.name, "outcome")
            return outcome()

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def injected_async(*args: Any, **kwargs: Any) -> Any:
                if not self.enabled:
                    return await fn(*args, **kwargs)
                result = await self._enter_async(key_of(args, kwargs))
                return replaced() if result == "outcome" else await fn(*args, **kwargs)

            return injected_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def injected(*args: Any, **kwargs: Any) -> Any:
            if not self.enabled:
                return fn(*args, **kwargs)
            result = self._enter(key_of(args, kwargs))
            return replaced() if result == "outcome" else fn(*args, **kwargs)

        return injected  # type: ignore[return-value]

    def block(self, key: Optional[str] = None) -> "_Block":
        """A ``with`` / ``async with`` block under the plan, for calls with
        ``key``: entering it sleeps an injected delay, and raises
        :class:`InjectedFaultError` for an injected error or outcome (a block
        has no value to replace)."""
        return _Block(self, key)

    def __enter__(self) -> None:
        """Enters a block under the plan (calls without a key): see :meth:`block`."""
        _Block(self, None).__enter__()

    def __exit__(self, *exc: object) -> None:
        """Leaves the block; exceptions pass through."""
        return None

    async def __aenter__(self) -> None:
        """Enters an ``async with`` block under the plan: see :meth:`block`."""
        await _Block(self, None).__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        """Leaves the block; exceptions pass through."""
        return None

    def _enter(self, key: Optional[str]) -> Optional[str]:
        """Carries out the decision for a ``def`` call: sleeps, raises for an
        error; answers ``"outcome"`` for an outcome fault."""
        injection = self._inject(key)
        if injection is None:
            return None
        delay, replace = injection
        if delay > 0:
            self._sleep(delay)
        if replace == "error":
            raise InjectedFaultError(self.name, "error")
        return replace

    async def _enter_async(self, key: Optional[str]) -> Optional[str]:
        """As :meth:`_enter`, sleeping with asyncio."""
        injection = self._inject(key)
        if injection is None:
            return None
        delay, replace = injection
        if delay > 0:
            clock = self.clock
            if clock is None:
                await asyncio.sleep(delay)
            else:
                clock.advance(delay)
                await asyncio.sleep(0)
        if replace == "error":
            raise InjectedFaultError(self.name, "error")
        return replace


class _Block:
    """A block under a fault plan (``FaultInjector.block``)."""

    __slots__ = ("_injector", "_key")

    def __init__(self, injector: FaultInjector, key: Optional[str]) -> None:
        if key is not None and not isinstance(key, str):
            raise TypeError(f"invalid key: must be a str or None, not {type(key).__name__}")
        self._injector = injector
        self._key = key

    def __enter__(self) -> None:
        if self._injector._enter(self._key) == "outcome":
            raise InjectedFaultError(self._injector.name, "outcome")

    def __exit__(self, *exc: object) -> None:
        return None

    async def __aenter__(self) -> None:
        if await self._injector._enter_async(self._key) == "outcome":
            raise InjectedFaultError(self._injector.name, "outcome")

    async def __aexit__(self, *exc: object) -> None:
        return None
