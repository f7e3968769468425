"""Parsers and helpers of the corpus data preps (local/voxceleb, local/cnceleb, local/prepcommon) on hand-made
lines in the formats of docs/data_formats.md."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from common.errors import FormatError
from local.cnceleb.prepare import combine_short, genre_of
from local.prepcommon import audio_problem, kaldi_files
from local.voxceleb.prepare import path_to_uid, read_meta, read_trials


def test_path_to_uid_keeps_dashes_in_youtube_ids():
    assert path_to_uid("id10003/na8-QEFmj44/00003.wav") == "id10003-na8-QEFmj44-00003"
    assert path_to_uid("id10270/x6uYqmx31kE/00001.wav") == "id10270-x6uYqmx31kE-00001"
    assert path_to_uid("Eartha_Kitt/x6uYqmx31kE_0000001.wav") is None     # the old OpenSLR list form
    assert path_to_uid("id10270/x6uYqmx31kE/00001.m4a") is None


def test_read_trials(tmp_path):
    p = tmp_path / "veri_test2.txt"
    p.write_text("1 id10270/x6uYqmx31kE/00001.wav id10270/8jEAjG6SegY/00008.wav\n"
                 "0 id10309/0cYFdtyWVds/00005.wav id10296/Y-qKARMSO7k/00001.wav\n")
    assert read_trials(str(p)) == [("id10270-x6uYqmx31kE-00001", "id10270-8jEAjG6SegY-00008", "target", 1),
                                   ("id10309-0cYFdtyWVds-00005", "id10296-Y-qKARMSO7k-00001", "nontarget", 2)]
    p.write_text("1 id10270/x6uYqmx31kE/00001.wav\n")
    with pytest.raises(FormatError, match=r"veri_test2.txt:1: expected"):
        read_trials(str(p))


@pytest.mark.parametrize("text", [
    # The release: TAB-separated, spaces inside Nationality.
    "VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet\nid10001\tA.J._Buckley\tm\tIreland\tdev\n"
    "id10270\tEartha_Kitt\tf\tNew Zealand\ttest\n",
    # A re-saved comma-separated copy with quotes.
    'VoxCeleb1 ID,VGGFace1 ID,Gender,Nationality,Set\nid10001,A.J._Buckley,m,Ireland,dev\n'
    'id10270,Eartha_Kitt,f,"New Zealand, x",test\n'])
def test_read_meta(tmp_path, text):
    p = tmp_path / "vox1_meta.csv"
    p.write_text(text)
    assert read_meta(str(p)) == {"id10001": "dev", "id10270": "test"}


def test_genre_of():
    assert genre_of("live_broadcast-01-003", "x") == "live_broadcast"
    assert genre_of("singing-01-001", "x") == "singing"
    with pytest.raises(FormatError, match="x: file name"):
        genre_of("00001", "x")


def test_combine_short_by_hand():
    # One speaker+genre: 1.0 + 1.5 reaches 2 -> joined; 3.0 stays alone; 0.5 is a short remainder.
    utts = {f"id00000-speech-01-00{i}": ("id00000", f"/a/{i}.flac", "speech") for i in range(1, 5)}
    dur = dict(zip(sorted(utts), (1.0, 1.5, 3.0, 0.5)))
    out, odur = combine_short(utts, dur, 2.0)
    assert sorted(out) == ["id00000-speech-01-001-comb2", "id00000-speech-01-003", "id00000-speech-01-004"]
    assert out["id00000-speech-01-001-comb2"][1] == "sox /a/1.flac /a/2.flac -t wav - |"
    assert odur["id00000-speech-01-001-comb2"] == 2.5 and odur["id00000-speech-01-004"] == 0.5


def test_kaldi_files_sorted_c_order():
    f = kaldi_files({"id10270-b-00001": ("id10270", "/b"), "id10270-a-00001": ("id10270", "/a"),
                     "id1027-z": ("id1027", "/z")}, genre={"id10270-b-00001": "x", "id10270-a-00001": "y",
                                                           "id1027-z": "z"})
    assert f["wav.scp"] == ["id1027-z /z", "id10270-a-00001 /a", "id10270-b-00001 /b"]
    assert f["spk2utt"] == ["id1027 id1027-z", "id10270 id10270-a-00001 id10270-b-00001"]
    assert f["utt2genre"][0] == "id1027-z z"


@pytest.mark.parametrize("fmt", ["WAV", "FLAC"])
def test_audio_problem_finds_truncation(tmp_path, fmt):
    p = tmp_path / f"a.{fmt.lower()}"
    sf.write(str(p), np.zeros(16000, np.float32) + 0.1, 16000, subtype="PCM_16", format=fmt)
    assert audio_problem(str(p)) is None
    data = p.read_bytes()
    p.write_bytes(data[:len(data) // 2])
    assert "truncated" in audio_problem(str(p))
    p.write_bytes(b"")
    assert audio_problem(str(p)) == "empty file"
