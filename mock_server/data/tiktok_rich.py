"""TikTok's own item shape (`--fidelity tiktok`): the docs-mode video of mock_server.data.tiktok, grown
into the aweme object TikTok's profile feed returns (music, text_extra, play/download addresses, covers,
more statistics, a fuller author, is_top, aweme_type, group_id). docs/tiktok-shape.md says which public
recordings each field follows.

Still a pure function of (seed, handle, index): every extra value comes from a blake2b hash of a
canonical key, never from Faker (no shared state, ~0.1 ms an item). The docs-mode values are kept as they
are (same aweme_id, create_time, statistics, desc words), so switching the fidelity never changes which
videos exist or their order: `video.duration` is the docs value in seconds times 1000 plus a few hundred
milliseconds, so `duration // 1000` is the docs-mode duration.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import quote

__all__ = ["mention_target", "rich_author", "rich_video", "sec_uid", "text_extra", "uid"]

_TAG_OR_MENTION = re.compile(r"(?<![\w@#])([#@])([A-Za-z0-9_][A-Za-z0-9_.]*[A-Za-z0-9_]|[A-Za-z0-9_])")
_VIDEO_HOSTS = ("v16-webapp-prime.tiktok.com", "v19-webapp-prime.us.tiktok.com")
_IMAGE_HOST = "p16-sign-va.tiktokcdn.com"
_MUSIC_HOST = "sf16-ies-music-va.tiktokcdn.com"
_SIGNATURES = ("", "daily videos", "link below", "just vibes", "business: see bio link", "new video every friday")
_TRACK_WORDS = (
    "Midnight",
    "Summer",
    "Echo",
    "Velvet",
    "Neon",
    "Paper",
    "Golden",
    "River",
    "Static",
    "Honey",
    "Orbit",
    "Wild",
)
_ARTISTS = ("The Lanterns", "Mira Vale", "DJ Koa", "Sunday Static", "Lo Parade", "Juno & Kai")
_MENTIONED = ("studio.kai", "mira_vale", "the_lanterns", "koa.beats", "daily_dose", "camera.jo")


def _h(seed: int, handle: str, tag: str, index: int = 0, size: int = 8) -> bytes:
    key = f"{seed}:{len(handle)}:{handle}:{tag}:{index}".encode()
    return hashlib.blake2b(key, digest_size=size).digest()


def _n(seed: int, handle: str, tag: str, index: int = 0) -> int:
    return int.from_bytes(_h(seed, handle, tag, index), "big")


def uid(seed: int, handle: str) -> str:
    """The author's uid: the same formula as mock_server.data.tiktok's author, so a mention of a handle
    carries that profile's uid."""
    key = f"{seed}:{len(handle)}:{handle}:author:0".encode()
    h = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")
    return str(6_000_000_000_000_000_000 + h % 1_000_000_000_000_000_000)


def sec_uid(seed: int, handle: str) -> str:
    """76 characters starting MS4wLjABAAAA, as TikTok's are (base64url of 48 hashed bytes)."""
    return "MS4wLjABAAAA" + base64.urlsafe_b64encode(_h(seed, handle, "sec_uid", 0, 48)).decode().rstrip("=")


def _image(uri: str, sizes: tuple[int, int], suffix: str = "jpeg") -> dict[str, Any]:
    w, h = sizes
    return {
        "uri": uri,
        "url_list": [
            f"https://{_IMAGE_HOST}/{uri}~c5_{w}x{h}.webp",
            f"https://{_IMAGE_HOST}/{uri}~c5_{w}x{h}.{suffix}",
        ],
        "width": 720,
        "height": 720,
    }


def rich_author(seed: int, handle: str, docs_author: dict[str, Any]) -> dict[str, Any]:
    """The docs author (uid, unique_id, nickname) plus sec_uid, signature, avatars and region."""
    avatar = f"tos-maliva-avt-0068/{_h(seed, handle, 'avatar', 0, 16).hex()}"
    return {
        **docs_author,
        "sec_uid": sec_uid(seed, handle),
        "signature": _SIGNATURES[_n(seed, handle, "signature") % len(_SIGNATURES)],
        "avatar_thumb": _image(avatar, (100, 100)),
        "avatar_medium": _image(avatar, (720, 720)),
        "avatar_larger": _image(avatar, (1080, 1080)),
        "region": "US",
    }


def mention_target(seed: int, handle: str, index: int) -> str | None:
    """About one caption in four credits another creator (' (🎥: @name)'), never the author."""
    n = _n(seed, handle, "mention", index)
    if n % 4:
        return None
    name = _MENTIONED[(n >> 8) % len(_MENTIONED)]
    return name if name != handle else None


def text_extra(seed: int, desc: str) -> list[dict[str, Any]]:
    """One entry per #hashtag and @mention of `desc`, in order. `start`/`end` count UTF-16 code units
    (the recordings' offsets skip an emoji as two units), `end` exclusive, the '#'/'@' included."""
    out: list[dict[str, Any]] = []
    for match in _TAG_OR_MENTION.finditer(desc):
        start = len(desc[: match.start()].encode("utf-16-le")) // 2
        end = start + len(match.group(0).encode("utf-16-le")) // 2
        name = match.group(2)
        if match.group(1) == "#":
            tag_id = str(_n(0, name.lower(), "hashtag") % 10**16)  # a hashtag's id is the same in every profile
            out.append(
                {
                    "start": start,
                    "end": end,
                    "type": 1,
                    "hashtag_name": name,
                    "hashtag_id": tag_id,
                    "is_commerce": False,
                }
            )
        else:
            out.append(
                {"start": start, "end": end, "type": 0, "user_id": uid(seed, name), "sec_uid": sec_uid(seed, name)}
            )
    return out


def _address(key: str, width: int, height: int, data_size: int, kind: str) -> dict[str, Any]:
    return {
        "uri": key,
        "url_list": [
            f"https://{host}/video/tos/maliva/tos-maliva-ve-0068c799-us/{key}/?mime_type=video_mp4&{kind}=1"
            for host in _VIDEO_HOSTS
        ],
        "width": width,
        "height": height,
        "data_size": data_size,
        "url_key": f"{key}_h264_{height}p_{data_size * 8 // 30}",
    }


def _music(seed: int, handle: str, index: int, nickname: str, duration_s: int, music_id: int) -> dict[str, Any]:
    """Two kinds, as in the recordings: the creator's 'original sound' (as long as the video) or a track."""
    n = _n(seed, handle, "music", index)
    cover = f"tos-maliva-v-2774/{_h(seed, handle, 'music_cover', index, 16).hex()}"
    if n % 5 < 3:
        title, author, duration = f"original sound - {nickname}", nickname, duration_s
    else:
        track = n >> 8
        title = f"{_TRACK_WORDS[track % 12]} {_TRACK_WORDS[(track >> 4) % 12]}"
        author, duration = _ARTISTS[(track >> 8) % len(_ARTISTS)], 30 + (track >> 12) % 31
        music_id = 7_000_000_000_000_000_000 + track % 10**17 * 10  # a track is shared by many videos
    audio = f"https://{_MUSIC_HOST}/obj/ies-music-ttp-dup-us/{music_id}.mp3"
    return {
        "id": music_id,
        "id_str": str(music_id),
        "title": title,
        "author": author,
        "duration": duration,
        "original": n % 5 < 3,
        "play_url": {"uri": audio, "url_list": [audio], "width": 720, "height": 720},
        "cover_thumb": _image(cover, (100, 100)),
    }


def rich_video(
    seed: int, handle: str, index: int, docs_item: dict[str, Any], author: dict[str, Any], is_top: bool
) -> dict[str, Any]:
    """The TikTok-shaped item for video `index`, built around its docs-mode item (not trimmed)."""
    aweme_id = docs_item["aweme_id"]
    desc = docs_item["desc"]
    mention = mention_target(seed, handle, index)
    if mention is not None:
        desc = f"{desc} (🎥: @{mention})"
    docs_video = docs_item["video"]
    duration_s = docs_video["duration"]
    duration_ms = duration_s * 1000 + _n(seed, handle, "ms", index) % 1000
    width, height = docs_video["width"], docs_video["height"]
    stats = docs_item["statistics"]
    n = _n(seed, handle, "stats", index)
    key = f"v0f044gc0000{_h(seed, handle, 'play', index, 10).hex()}"
    cover_uri = docs_video["cover"]["url_list"][0].split("/", 3)[3].split("~", 1)[0]
    bitrate = (1_200_000 if height >= 1920 else 800_000) + n % 400_000  # bits per second
    size = bitrate * duration_ms // 8000
    cover = {"uri": cover_uri, "url_list": docs_video["cover"]["url_list"], "width": width, "height": height}
    return {
        "aweme_id": aweme_id,
        "id": aweme_id,
        "group_id": aweme_id,
        "desc": desc,
        "create_time": docs_item["create_time"],
        "aweme_type": 0,
        "is_top": 1 if is_top else 0,
        "region": docs_item["region"],
        "share_url": f"https://www.tiktok.com/@{quote(handle, safe='')}/video/{aweme_id}?_r=1&u_code=0&preview_pb=0&language=en",
        "text_extra": text_extra(seed, desc),
        "statistics": {
            "aweme_id": aweme_id,
            **stats,
            "collect_count": stats["digg_count"] * (n % 97) // 800,  # saves: ~6% of likes
            "forward_count": 0,  # always 0 in the recordings (reposts are counted elsewhere)
            "whatsapp_share_count": stats["share_count"] * ((n >> 8) % 31) // 100,  # a share of the shares
        },
        "video": {
            "duration": duration_ms,
            "width": width,
            "height": height,
            "ratio": docs_video["ratio"],
            "cover": cover,
            "origin_cover": {**cover, "url_list": [u.replace("cropcenter:300:400", "360p") for u in cover["url_list"]]},
            "dynamic_cover": {
                **cover,
                "uri": cover_uri + "_dyn",
                "url_list": [u.split("~", 1)[0] + "_dyn~tplv-obj.image" for u in cover["url_list"]],
            },
            "play_addr": _address(key, width, height, size, "play"),
            "download_addr": _address(
                key, width, height, size + size // 20, "download"
            ),  # the watermarked copy is a little larger
        },
        "music": _music(seed, handle, index, author.get("nickname", handle), duration_s, int(aweme_id) + 1),
        "author": author,
    }
