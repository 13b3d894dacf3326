"""Global configuration: who is in the instance, which servers host whom, whom to trust."""

from xroad.globalconf.model import GlobalConf, MemberInfo, SecurityServerInfo

__all__ = ["GlobalConf", "MemberInfo", "SecurityServerInfo"]
