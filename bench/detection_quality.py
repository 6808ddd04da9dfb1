"""Detection quality on real public logs that no test was tuned on, against a naive baseline.

    python bench/detection_quality.py                 # tuning + held-out summary
    python bench/detection_quality.py --details       # per-log lines for the tuning slice
    python bench/detection_quality.py --slice holdout --details   # only after tuning is frozen
    python bench/detection_quality.py --slice tuning  # while tuning: never print the others
    python bench/detection_quality.py --unshipped /work/unshipped_logs   # also the logs not shipped
    python bench/detection_quality.py --measure fresh1035 --dump out.jsonl   # a new blind slice, once
    python bench/detection_quality.py --measure fresh1035 --ledger   # ... and kept in the blind ledger
    python bench/detection_quality.py --blind         # the ledger's figures: every slice as first measured

A new blind slice is measured once, before anyone studies it and before it joins :data:`SLICES`:
``--measure SLICE`` (repeatable) reads ``manifest_SLICE.yaml`` whether or not the slice is
registered, and only the slices named; ``--dump PATH`` writes one JSON line per log (its label,
lrdoctor's and the naive baseline's findings), so that the measurement can be kept, scored again
and compared with a later commit's; ``--logs DIR`` reads the manifests and logs of another folder
laid out like ``bench/detection_logs``. How a slice is gathered and labelled: GATHERING.md beside
the manifests.

The blind ledger (``bench/blind_ledger.jsonl``, :data:`LEDGER`) keeps that one measurement for
good: ``--measure SLICE --ledger`` appends each log's line (the dump's, with its path relative to
the logs folder and ``measured_at``, the commit of the lrdoctor measured) and refuses a slice the
ledger already holds, since a slice is measured blind once. ``--blind`` scores the ledger as it
stands, without running anything: the figures of logs no one had studied when lrdoctor met them,
per measuring commit and in all, the number that says how lrdoctor does on logs it has never
seen. tests/test_blind_ledger.py holds every ledger line to its manifest entry: a label measured
blind is never changed afterwards.


Slices: ``tuning`` (may be looked at), ``holdout`` (a quarter of the first gathering, never
looked at while tuning) and ``fresh`` (a second gathering, labelled blind by a session that
never ran lrdoctor, added after the first round of tuning; reported on its own) and ``fresh2``
(a third blind gathering, made once ``fresh`` had been measured and then studied) and
``fresh3`` (gathered while ``fresh2`` was being studied) and ``fresh4`` (gathered while
``fresh3`` was being studied) and so on (:data:`SLICES`, in the order gathered).

Licences: only logs whose licence allows redistribution are in the repository. An entry
marked ``shipped: false`` (no licence found, or a non-commercial one; the reason is in
``unshipped_reason``) keeps its source, label and evidence, so anyone can fetch it again; it is
measured only when ``--unshipped DIR`` (or the environment variable
:data:`UNSHIPPED_ENV`) names a folder that holds it at the same path relative to
``bench/detection_logs``. The figures print, per slice, how many logs were skipped that way.

The logs and their labels are in ``bench/detection_logs/manifest_*.yaml``: each log was
labelled by reading its numbers before lrdoctor ever ran on it (source, commit, licence and
the evidence are in the manifest). A quarter of them, the ``holdout`` slice, is never looked
at while thresholds are tuned; its figures are reported separately.

A finding counts when it is a warning or an error. A labelled kind is found when lrdoctor
reports that kind or one of its :data:`EQUIVALENT` kinds (e.g. a loss labelled "diverged"
that lrdoctor calls ``lr_beyond_stability``). Per kind: precision, recall and the detection
delay (finding start - labelled onset, as a share of the log's span). The naive baseline
reads the same Run and applies fixed thresholds: loss > best + 0.5 at the end (divergence),
any NaN/inf loss (nonfinite), approx KL > 0.02 (kl_exceeded), |Q| at the end > 5x its start
(q_divergence), final loss > 0.9 x first loss (slow_progress).

Recall is also printed on the runs labelled ``unhealthy`` alone: an ``edge`` run's kind is
the one its labeller leaned to on a debatable curve (a validation loss 2% above its best, a
crawl called a plateau), and the two figures apart say how much of the misses is on those.
The headline recall keeps counting both.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

import lrdoctor
from lrdoctor.errors import InputError

HERE = Path(__file__).resolve().parent / "detection_logs"

#: labelled kind -> lrdoctor kinds that count as finding it
EQUIVALENT: dict[str, set[str]] = {
    "divergence": {"divergence", "lr_beyond_stability"},
    "grad_explosion": {"grad_explosion", "grad_norm_unstable"},
    "oscillation": {"oscillation", "loss_spike"},
    "loss_spike": {"loss_spike", "oscillation"},
    "reward_instability": {"reward_instability", "oscillation"},
    # objective_mismatch is "the loss falls while the task metric falls" (the labellers'
    # vocabulary has no such kind): on an RL return that is a reversal explained by the loss,
    # on an evaluation accuracy (the task curve of a supervised run) it is overfitting's
    # accuracy form, the training loss fitted at the evaluation set's expense
    "performance_reversal": {"performance_reversal", "objective_mismatch"},
    "overfitting": {"overfitting", "objective_mismatch"},
}
#: the benchmark's slices, in the order they were gathered
SLICES = ("tuning", "holdout", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7", "fresh8", "fresh9", "fresh10", "fresh11", "fresh12", "fresh13", "fresh14", "fresh15", "fresh16", "fresh17", "fresh18", "fresh19", "fresh20", "fresh21", "fresh22", "fresh23", "fresh24", "fresh25", "fresh26", "fresh27", "fresh28", "fresh29", "fresh30", "fresh31", "fresh32", "fresh33", "fresh34", "fresh35", "fresh36", "fresh37", "fresh38", "fresh39", "fresh40", "fresh41", "fresh42", "fresh43", "fresh44", "fresh45", "fresh46", "fresh47", "fresh48", "fresh49", "fresh50", "fresh51", "fresh52", "fresh53", "fresh54", "fresh55", "fresh56", "fresh57", "fresh58", "fresh59", "fresh60", "fresh61", "fresh62", "fresh63", "fresh64", "fresh65", "fresh66", "fresh67", "fresh68", "fresh69", "fresh70", "fresh71", "fresh72", "fresh73", "fresh74", "fresh75", "fresh76", "fresh77", "fresh78", "fresh79", "fresh80", "fresh81", "fresh82", "fresh83", "fresh84", "fresh85", "fresh86", "fresh87", "fresh88", "fresh89", "fresh90", "fresh91", "fresh92", "fresh93", "fresh94", "fresh95", "fresh96", "fresh97", "fresh98", "fresh99", "fresh100", "fresh101", "fresh102", "fresh103", "fresh104", "fresh105", "fresh106", "fresh107", "fresh108", "fresh109", "fresh110", "fresh111", "fresh112", "fresh113", "fresh114", "fresh115", "fresh116", "fresh117", "fresh118", "fresh119", "fresh120", "fresh121", "fresh122", "fresh123", "fresh124", "fresh125", "fresh127", "fresh128", "fresh126", "fresh130", "fresh132", "fresh129", "fresh131", "fresh133", "fresh134", "fresh135", "fresh136", "fresh137", "fresh138", "fresh139", "fresh140", "fresh141", "fresh142", "fresh143", "fresh144", "fresh145", "fresh146", "fresh147", "fresh148", "fresh149", "fresh150", "fresh151", "fresh152", "fresh153", "fresh154", "fresh155", "fresh156", "fresh157", "fresh158", "fresh159", "fresh160", "fresh161", "fresh162", "fresh163", "fresh164", "fresh165", "fresh166", "fresh167", "fresh168", "fresh169", "fresh170", "fresh171", "fresh172", "fresh173", "fresh174", "fresh175", "fresh176", "fresh177", "fresh178", "fresh179", "fresh180", "fresh181", "fresh182", "fresh183", "fresh184", "fresh185", "fresh186", "fresh187", "fresh188", "fresh189", "fresh190", "fresh191", "fresh192", "fresh193", "fresh194", "fresh195", "fresh196", "fresh197", "fresh199", "fresh200", "fresh201", "fresh203", "fresh204", "fresh205", "fresh202", "fresh198", "fresh207", "fresh208", "fresh209", "fresh211", "fresh206", "fresh210", "fresh212", "fresh214", "fresh215", "fresh216", "fresh217", "fresh218", "fresh219", "fresh220", "fresh221", "fresh222", "fresh223", "fresh224", "fresh225", "fresh226", "fresh227", "fresh228", "fresh229", "fresh230", "fresh231", "fresh232", "fresh233", "fresh234", "fresh235", "fresh236", "fresh237", "fresh238", "fresh239", "fresh240", "fresh241", "fresh242", "fresh243", "fresh244", "fresh245", "fresh246", "fresh248", "fresh249", "fresh250", "fresh251", "fresh252", "fresh253", "fresh254", "fresh255", "fresh256", "fresh257", "fresh259", "fresh260", "fresh258", "fresh261", "fresh262", "fresh263", "fresh265", "fresh266", "fresh267", "fresh268", "fresh269", "fresh270", "fresh272", "fresh273", "fresh274", "fresh275", "fresh276", "fresh278", "fresh279", "fresh280", "fresh281", "fresh282", "fresh283", "fresh284", "fresh285", "fresh286", "fresh287", "fresh288", "fresh289", "fresh290", "fresh291", "fresh292", "fresh293", "fresh294", "fresh295", "fresh297", "fresh298", "fresh299", "fresh300", "fresh301", "fresh302", "fresh303", "fresh304", "fresh305", "fresh306", "fresh307", "fresh309", "fresh311", "fresh313", "fresh308", "fresh310", "fresh314", "fresh315", "fresh316", "fresh317", "fresh320", "fresh318", "fresh319", "fresh321", "fresh322", "fresh324", "fresh326", "fresh323", "fresh327", "fresh333", "fresh329", "fresh325", "fresh331", "fresh328", "fresh332", "fresh337", "fresh336", "fresh334", "fresh338", "fresh339", "fresh341", "fresh342", "fresh340", "fresh343", "fresh347", "fresh348", "fresh350", "fresh351", "fresh344", "fresh352", "fresh354", "fresh355", "fresh356", "fresh357", "fresh359", "fresh360", "fresh361", "fresh363", "fresh358", "fresh367", "fresh364", "fresh365", "fresh366", "fresh368", "fresh372", "fresh373", "fresh374", "fresh376", "fresh377", "fresh378", "fresh379", "fresh380", "fresh381", "fresh382", "fresh383", "fresh384", "fresh385", "fresh386", "fresh387", "fresh388", "fresh389", "fresh390", "fresh391", "fresh392", "fresh393", "fresh394", "fresh395", "fresh396", "fresh397", "fresh398", "fresh399", "fresh400", "fresh401", "fresh402", "fresh404", "fresh406", "fresh409", "fresh410", "fresh411", "fresh407", "fresh408", "fresh412", "fresh413", "fresh416", "fresh417", "fresh415", "fresh418", "fresh420", "fresh423", "fresh419", "fresh422", "fresh426", "fresh428", "fresh424", "fresh425", "fresh427", "fresh431", "fresh432", "fresh433", "fresh430", "fresh434", "fresh435", "fresh437", "fresh438", "fresh439", "fresh440", "fresh441", "fresh442", "fresh443", "fresh444", "fresh445", "fresh446", "fresh447", "fresh448", "fresh449", "fresh450", "fresh451", "fresh452", "fresh453", "fresh454", "fresh455", "fresh456", "fresh457", "fresh458", "fresh459", "fresh460", "fresh462", "fresh463", "fresh465", "fresh466", "fresh467", "fresh468", "fresh469", "fresh471", "fresh472", "fresh474", "fresh470", "fresh473", "fresh475", "fresh476", "fresh477", "fresh479", "fresh478", "fresh480", "fresh482", "fresh481", "fresh483", "fresh484", "fresh486", "fresh489", "fresh490", "fresh491", "fresh492", "fresh494", "fresh493", "fresh499", "fresh496", "fresh497", "fresh495", "fresh504", "fresh501", "fresh502", "fresh500", "fresh503", "fresh505", "fresh506", "fresh507", "fresh508", "fresh509", "fresh510", "fresh512", "fresh513", "fresh514", "fresh511", "fresh517", "fresh518", "fresh515", "fresh520", "fresh521", "fresh522", "fresh523", "fresh524", "fresh525", "fresh526", "fresh527", "fresh528", "fresh529", "fresh530", "fresh531", "fresh532", "fresh533", "fresh534", "fresh535", "fresh536", "fresh537", "fresh538", "fresh539", "fresh540", "fresh541", "fresh542", "fresh543", "fresh544", "fresh545", "fresh547", "fresh546", "fresh548", "fresh549", "fresh552", "fresh551", "fresh555", "fresh553", "fresh554", "fresh556", "fresh557", "fresh558", "fresh559", "fresh560", "fresh561", "fresh562", "fresh563", "fresh564", "fresh566", "fresh567", "fresh569", "fresh570", "fresh571", "fresh572", "fresh568", "fresh576", "fresh577", "fresh574", "fresh575", "fresh578", "fresh579", "fresh580", "fresh581", "fresh582", "fresh584", "fresh585", "fresh583", "fresh587", "fresh586", "fresh589", "fresh591", "fresh592", "fresh588", "fresh590", "fresh596", "fresh595", "fresh594", "fresh593", "fresh598", "fresh599", "fresh601", "fresh602", "fresh600", "fresh606", "fresh605", "fresh607", "fresh603", "fresh604", "fresh608", "fresh611", "fresh612", "fresh613", "fresh614", "fresh615", "fresh616", "fresh617", "fresh618", "fresh619", "fresh621", "fresh622", "fresh623", "fresh624", "fresh626", "fresh625", "fresh627", "fresh628", "fresh629", "fresh630", "fresh632", "fresh631", "fresh633", "fresh634", "fresh636", "fresh635", "fresh637", "fresh638", "fresh639", "fresh640", "fresh641", "fresh645", "fresh646", "fresh643", "fresh647", "fresh648", "fresh650", "fresh649", "fresh651", "fresh652", "fresh653", "fresh654", "fresh655", "fresh656", "fresh657", "fresh658", "fresh659", "fresh660", "fresh661", "fresh662", "fresh663", "fresh664", "fresh665", "fresh666", "fresh667", "fresh668", "fresh669", "fresh670", "fresh671", "fresh672", "fresh673", "fresh674", "fresh675", "fresh676", "fresh677", "fresh679", "fresh680", "fresh681", "fresh682", "fresh683", "fresh684", "fresh685", "fresh687", "fresh689", "fresh690", "fresh692", "fresh693", "fresh694", "fresh695", "fresh691", "fresh696", "fresh697", "fresh698", "fresh699", "fresh700", "fresh701", "fresh702", "fresh703", "fresh704", "fresh705", "fresh706", "fresh707", "fresh708", "fresh709", "fresh710", "fresh712", "fresh713", "fresh715", "fresh716", "fresh717", "fresh718", "fresh719", "fresh720", "fresh721", "fresh722", "fresh723", "fresh724", "fresh725", "fresh726", "fresh729", "fresh730", "fresh731", "fresh732", "fresh733", "fresh734", "fresh735", "fresh736", "fresh737", "fresh738", "fresh739", "fresh740", "fresh741", "fresh742", "fresh743", "fresh744", "fresh745", "fresh746", "fresh747", "fresh748", "fresh749", "fresh750", "fresh751", "fresh752", "fresh753", "fresh754", "fresh755", "fresh756", "fresh757", "fresh758", "fresh759", "fresh760", "fresh761", "fresh763", "fresh764", "fresh766", "fresh767", "fresh768", "fresh769", "fresh770", "fresh771", "fresh772", "fresh773", "fresh775", "fresh776", "fresh777", "fresh778", "fresh779", "fresh780", "fresh781", "fresh782", "fresh783", "fresh784", "fresh785", "fresh786", "fresh787", "fresh788", "fresh789", "fresh790", "fresh791", "fresh792", "fresh793", "fresh794", "fresh795", "fresh796", "fresh797", "fresh798", "fresh799", "fresh800", "fresh801", "fresh802", "fresh803", "fresh804", "fresh805", "fresh806", "fresh807", "fresh808", "fresh809", "fresh810", "fresh811", "fresh812", "fresh813", "fresh814", "fresh815", "fresh817", "fresh827", "fresh828", "fresh829", "fresh830", "fresh831", "fresh832", "fresh833", "fresh834", "fresh835", "fresh836", "fresh837", "fresh838", "fresh839", "fresh840", "fresh842", "fresh843", "fresh844", "fresh845", "fresh846", "fresh847", "fresh848", "fresh849", "fresh850", "fresh851", "fresh852", "fresh853", "fresh854", "fresh855", "fresh856", "fresh857", "fresh858", "fresh859", "fresh860", "fresh861", "fresh862", "fresh863", "fresh864", "fresh865", "fresh866", "fresh867", "fresh868", "fresh869", "fresh870", "fresh871", "fresh872", "fresh874", "fresh875", "fresh878", "fresh879", "fresh880", "fresh881", "fresh882", "fresh876", "fresh877", "fresh885", "fresh886", "fresh888", "fresh883", "fresh884", "fresh887", "fresh889", "fresh890", "fresh891", "fresh892", "fresh893", "fresh895", "fresh896", "fresh897", "fresh898", "fresh899", "fresh900", "fresh901", "fresh902", "fresh903", "fresh904", "fresh905", "fresh908", "fresh909", "fresh911", "fresh912", "fresh906", "fresh907", "fresh910", "fresh913", "fresh914", "fresh915", "fresh916", "fresh917", "fresh918", "fresh919", "fresh920", "fresh921", "fresh922", "fresh923", "fresh924", "fresh925", "fresh927", "fresh928", "fresh929", "fresh930", "fresh932", "fresh933", "fresh934", "fresh935", "fresh936", "fresh937", "fresh938", "fresh939", "fresh940", "fresh941", "fresh942", "fresh943", "fresh944", "fresh945", "fresh946", "fresh947", "fresh949", "fresh950", "fresh951", "fresh952", "fresh953", "fresh954", "fresh956", "fresh957", "fresh958", "fresh959", "fresh960", "fresh961", "fresh962", "fresh963", "fresh964", "fresh965", "fresh966", "fresh967", "fresh968", "fresh969", "fresh970", "fresh971", "fresh972", "fresh973", "fresh974", "fresh975", "fresh976", "fresh977", "fresh978", "fresh979", "fresh980", "fresh981", "fresh982", "fresh983", "fresh984", "fresh986", "fresh987", "fresh988", "fresh989", "fresh990", "fresh991", "fresh992", "fresh993", "fresh994", "fresh995", "fresh996", "fresh997", "fresh998", "fresh999", "fresh1000", "fresh1001", "fresh1002", "fresh1003", "fresh1005", "fresh1009", "fresh1011", "fresh1014", "fresh1015", "fresh1016", "fresh1017", "fresh1018", "fresh1019", "fresh1020", "fresh1021", "fresh1023", "fresh1024", "fresh1025", "fresh1026", "fresh1027", "fresh1028", "fresh1029", "fresh1030", "fresh1031", "fresh1032", "fresh1033", "fresh1034", "fresh1035", "fresh1036", "fresh1037", "fresh1038", "fresh1039", "fresh1040", "fresh1041", "fresh1043", "fresh1044", "fresh1045", "fresh1046", "fresh1047", "fresh1048", "fresh1049", "fresh1050", "fresh1051", "fresh1052", "fresh1054", "fresh1055", "fresh1056", "fresh1057", "fresh1058", "fresh1059", "fresh1060", "fresh1061", "fresh1062", "fresh1063", "fresh1064", "fresh1065", "fresh1066", "fresh1067", "fresh1068", "fresh1069", "fresh1070", "fresh1071", "fresh1072", "fresh1073", "fresh1074", "fresh1075", "fresh1076", "fresh1077", "fresh1078", "fresh1079", "fresh1080", "fresh1081", "fresh1082", "fresh1083", "fresh1084", "fresh1085", "fresh1086", "fresh1087", "fresh1088", "fresh1089", "fresh1090", "fresh1091", "fresh1092", "fresh1093", "fresh1094", "fresh1095", "fresh1096", "fresh1097", "fresh1099", "fresh1100", "fresh1106", "fresh1108", "fresh1109", "fresh1110", "fresh1111", "fresh1112", "fresh1113", "fresh1115", "fresh1116", "fresh1118", "fresh1119", "fresh1120", "fresh1121", "fresh1122", "fresh1123", "fresh1124", "fresh1125", "fresh1126", "fresh1127", "fresh1128", "fresh1129", "fresh1130", "fresh1131", "fresh1132", "fresh1133", "fresh1134", "fresh1135", "fresh1136", "fresh1137", "fresh1140", "fresh1141", "fresh1142", "fresh1143", "fresh1144", "fresh1145", "fresh1146", "fresh1147", "fresh1148", "fresh1149", "fresh1150", "fresh1151", "fresh1152", "fresh1153", "fresh1154", "fresh1155", "fresh1156", "fresh1157", "fresh1158", "fresh1159", "fresh1160", "fresh1161", "fresh1162", "fresh1164", "fresh1165", "fresh1166", "fresh1167", "fresh1168", "fresh1169", "fresh1170", "fresh1171", "fresh1172", "fresh1173", "fresh1175", "fresh1176", "fresh1178", "fresh1179", "fresh1180", "fresh1181", "fresh1182", "fresh1185", "fresh1186", "fresh1189", "fresh1191", "fresh1192", "fresh1193", "fresh1194", "fresh1195", "fresh1196", "fresh1197", "fresh1198", "fresh1199", "fresh1200", "fresh1201", "fresh1202", "fresh1203", "fresh1205", "fresh1206", "fresh1207", "fresh1208", "fresh1209", "fresh1210", "fresh1211", "fresh1213", "fresh1214", "fresh1215", "fresh1218", "fresh1219", "fresh1220", "fresh1221", "fresh1222", "fresh1223", "fresh1224", "fresh1225", "fresh1226", "fresh1227", "fresh1228", "fresh1229", "fresh1230", "fresh1231", "fresh1233", "fresh1234", "fresh1235", "fresh1236", "fresh1237", "fresh1238", "fresh1239", "fresh1240", "fresh1242", "fresh1243", "fresh1244", "fresh1245", "fresh1247", "fresh1248", "fresh1249", "fresh1251", "fresh1252", "fresh1253", "fresh1254", "fresh1255", "fresh1256", "fresh1257", "fresh1258", "fresh1259", "fresh1260", "fresh1261", "fresh1262", "fresh1263", "fresh1264", "fresh1265", "fresh1266", "fresh1267", "fresh1268", "fresh1270", "fresh1271", "fresh1272", "fresh1273", "fresh1274", "fresh1275", "fresh1276", "fresh1277", "fresh1278", "fresh1279", "fresh1280", "fresh1281", "fresh1282", "fresh1283", "fresh1286", "fresh1288", "fresh1289", "fresh1290", "fresh1291", "fresh1292", "fresh1293", "fresh1294", "fresh1295", "fresh1296", "fresh1297", "fresh1298", "fresh1299", "fresh1300", "fresh1301", "fresh1302", "fresh1304", "fresh1305", "fresh1306", "fresh1308", "fresh1307", "fresh1310", "fresh1312", "fresh1311", "fresh1309", "fresh1313", "fresh1314", "fresh1315", "fresh1316", "fresh1317", "fresh1318", "fresh1319", "fresh1320", "fresh1321", "fresh1322", "fresh1323", "fresh1324", "fresh1326", "fresh1327", "fresh1328", "fresh1330", "fresh1331", "fresh1332", "fresh1333", "fresh1334", "fresh1335", "fresh1329", "fresh1337", "fresh1336", "fresh1339", "fresh1338", "fresh1340", "fresh1341", "fresh1344", "fresh1347", "fresh1348", "fresh1350", "fresh1349", "fresh1351", "fresh1352", "fresh1353", "fresh1354", "fresh1356", "fresh1355", "fresh1357", "fresh1358", "fresh1359", "fresh1360", "fresh1361", "fresh1362", "fresh1363", "fresh1364", "fresh1365", "fresh1366", "fresh1367", "fresh1368", "fresh1369", "fresh1371", "fresh1373", "fresh1375", "fresh1370", "fresh1376", "fresh1377", "fresh1378", "fresh1379", "fresh1380", "fresh1382", "fresh1383", "fresh1384", "fresh1386", "fresh1388", "fresh1390", "fresh1391", "fresh1389", "fresh1392", "fresh1395", "fresh1394", "fresh1396", "fresh1393", "fresh1397", "fresh1398", "fresh1399", "fresh1400", "fresh1401", "fresh1402", "fresh1403", "fresh1404", "fresh1406", "fresh1408", "fresh1409", "fresh1410", "fresh1412", "fresh1413", "fresh1414", "fresh1415", "fresh1418", "fresh1417", "fresh1416", "fresh1422", "fresh1423", "fresh1420", "fresh1424", "fresh1425", "fresh1427", "fresh1426", "fresh1428", "fresh1429", "fresh1430", "fresh1431", "fresh1432", "fresh1433", "fresh1434", "fresh1435", "fresh1436", "fresh1437", "fresh1438", "fresh1442", "fresh1440", "fresh1441", "fresh1439", "fresh1444", "fresh1445", "fresh1443", "fresh1446", "fresh1447", "fresh1449", "fresh1450", "fresh1452", "fresh1451", "fresh1454", "fresh1453", "fresh1448", "fresh1456", "fresh1459", "fresh1458", "fresh1457", "fresh1461", "fresh1462", "fresh1464", "fresh1463", "fresh1460", "fresh1465", "fresh1466", "fresh1467", "fresh1468", "fresh1469", "fresh1470", "fresh1471", "fresh1473", "fresh1472", "fresh1474", "fresh1475", "fresh1476", "fresh1477", "fresh1478", "fresh1479", "fresh1480", "fresh1482", "fresh1483", "fresh1485", "fresh1487", "fresh1488", "fresh1490", "fresh1491", "fresh1492", "fresh1493", "fresh1494", "fresh1495", "fresh1496", "fresh1497", "fresh1498", "fresh1500", "fresh1501", "fresh1502", "fresh1503", "fresh1504", "fresh1505", "fresh1508", "fresh1506", "fresh1507", "fresh1509", "fresh1510", "fresh1512", "fresh1514", "fresh1517", "fresh1518", "fresh1511", "fresh1513", "fresh1516", "fresh1520", "fresh1521", "fresh1519", "fresh1522", "fresh1523", "fresh1525", "fresh1527", "fresh1528", "fresh1529", "fresh1530", "fresh1531", "fresh1533", "fresh1532", "fresh1534", "fresh1535", "fresh1536", "fresh1537", "fresh1538", "fresh1539", "fresh1540", "fresh1542", "fresh1541", "fresh1543", "fresh1544", "fresh1545", "fresh1546", "fresh1547")
#: the blind ledger: one JSON line per log of every slice measured blind with ``--measure SLICE --ledger``
LEDGER = Path(__file__).resolve().parent / "blind_ledger.jsonl"
#: environment variable naming the folder of logs that are not shipped (same as ``--unshipped``)
UNSHIPPED_ENV = "LRDOCTOR_BENCH_UNSHIPPED"
#: YAML's safe loader, libyaml's where PyYAML was built with it: ~960 manifests in seconds, not a minute
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: config keys a manifest entry may carry (what a user would pass with --config)
CONFIG_KEYS = ("num_classes", "n_actions", "target_kl")


@dataclass
class Case:
    id: str
    file: Path
    slice: str
    label: str
    kinds: dict[str, float | None]
    config: dict
    span: float = 1.0
    first: float = 0.0


@dataclass
class Outcome:
    predicted: dict[str, float | None] = field(default_factory=dict)  # kind -> start step (warning+)
    errors: set[str] = field(default_factory=set)  # kinds at error severity
    failed: str = ""
    broken: list[str] = field(default_factory=list)  # kinds whose check raised on this log


@dataclass
class Loaded:
    """The cases to measure, and per slice how many entries were left out for their licence."""

    cases: list[Case]
    unshipped: dict[str, int] = field(default_factory=dict)  # slice -> entries skipped (shipped: false)


def load_cases(exclude: tuple[str, ...] = (), unshipped: Path | None = None, *,
               only: tuple[str, ...] = (), here: Path = HERE) -> Loaded:
    """Read every manifest of a slice in :data:`SLICES` but those of excluded slices
    (``manifest_<slice>.yaml`` is not even opened, so a blind slice stays unread). A manifest
    of a slice not yet in :data:`SLICES` is one still being gathered: it is left out too, so a
    half-written blind slice never reaches a figure before it is measured once. ``only`` names
    the slices to read instead, registered or not (the one measurement of a new blind slice): no
    other manifest is opened. An entry with ``shipped: false`` is taken from
    ``unshipped`` (same relative path) when that folder holds it, and counted as skipped otherwise.
    ``here`` is the folder of manifests and logs."""
    out = Loaded([])
    for m in sorted(here.glob("manifest_*.yaml")):
        name = m.stem.removeprefix("manifest_")
        if name in exclude or (only and name not in only):
            continue
        for e in yaml.load(m.read_text(), Loader=_SAFE_LOADER) or []:
            sl = e.get("slice", "tuning")
            if sl in exclude or (sl not in only if only else sl not in SLICES):
                continue
            file = here / e["file"]
            if e.get("shipped", True) is False:
                file = unshipped / e["file"] if unshipped is not None else None
                if file is None or not file.exists():
                    out.unshipped[sl] = out.unshipped.get(sl, 0) + 1
                    continue
            kinds = {k["kind"]: _onset(k.get("onset")) for k in e.get("kinds") or []}
            nested = e.get("config") if isinstance(e.get("config"), dict) else {}  # (a "config:" mapping, as some gatherers wrote it)
            cfg = {k: v for k in CONFIG_KEYS for v in (e.get(k, nested.get(k)),) if v is not None}
            out.cases.append(Case(e["id"], file, sl, e["label"], kinds, cfg))
    return out


def _onset(value) -> float | None:
    """A labelled onset as a step; None when the log has no numeric step to give it in (a gatherer
    wrote a paste's printed timestamp): the kind still counts, its delay is not measured."""
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def run_lrdoctor(case: Case) -> Outcome:
    out = Outcome()
    try:
        run = lrdoctor.read(case.file, config=case.config)
        case.span = float(run.steps[-1] - run.steps[0]) if run.n_steps > 1 else 1.0
        case.first = float(run.steps[0]) if run.n_steps else 0.0
        report = lrdoctor.diagnose(run)
    except InputError as err:
        out.failed = str(err)
        return out
    out.broken = [k for k, why in report.coverage.skipped.items() if why.startswith("the check failed")]
    for f in report.findings:
        if f.severity.rank >= 1:
            out.predicted.setdefault(f.kind, f.start_step)
        if f.severity.rank >= 2:
            out.errors.add(f.kind)
    return out


def run_naive(case: Case) -> Outcome:
    """Fixed thresholds a practitioner might script in five minutes. A log in which it finds
    none of the series it judges (loss, approx_kl, Q) counts as unreadable for it, as a log
    lrdoctor refuses ("no training metric recognised") does for lrdoctor: both gave no judgement."""
    out = Outcome()
    try:
        run = lrdoctor.read(case.file, config=case.config)
    except InputError as err:
        out.failed = str(err)
        return out
    if not any(run.series(n) is not None for n in ("loss", "approx_kl", "q_values", "q_max")):
        out.failed = "no series the baseline judges (loss, approx_kl, Q)"
        return out
    loss = run.series("loss")
    if loss is not None and len(loss) >= 2:
        v, s = loss.values, loss.steps
        bad = ~np.isfinite(v)
        if bad.any():
            out.predicted["nonfinite"] = float(s[np.argmax(bad)])
        f = loss.finite()
        if f.values.size >= 2:
            best = np.minimum.accumulate(f.values)
            if f.values[-1] > best[-1] + 0.5:
                over = np.flatnonzero(f.values > best + 0.5)
                out.predicted["divergence"] = float(f.steps[over[0]])
            if f.values[-1] > 0.9 * f.values[0] and not run.is_rl:
                out.predicted["slow_progress"] = float(f.steps[0])
    kl = run.series("approx_kl")
    if kl is not None and (kl.finite().values > 0.02).any():
        k = kl.finite()
        out.predicted["kl_exceeded"] = float(k.steps[np.argmax(k.values > 0.02)])
    for name in ("q_values", "q_max"):
        q = run.series(name)
        if q is not None and q.finite().values.size >= 2:
            qv = np.abs(q.finite().values)
            if qv[0] > 0 and qv[-1] > 5 * qv[0]:
                out.predicted["q_divergence"] = float(q.finite().steps[0])
            break
    out.errors = set(out.predicted)
    return out


def _found(label_kind: str, predicted: dict) -> str | None:
    """The predicted kind that matches ``label_kind``: the kind itself when predicted, else the first
    of its :data:`EQUIVALENT` kinds in name order. (Not the set's own order: a set of strings
    iterates in an order that changes with each interpreter's hash seed, so a run predicting both
    ``loss_spike`` and ``oscillation`` for a labelled spike was scored one way or the other.)"""
    for k in (label_kind, *sorted(EQUIVALENT.get(label_kind, set()) - {label_kind})):
        if k in predicted:
            return k
    return None


def score(cases: list[Case], outcomes: list[Outcome]) -> dict:
    tp = defaultdict(int)
    fp = defaultdict(int)
    fn = defaultdict(int)
    delays = defaultdict(list)
    passed = healthy_errors = unreadable = 0
    clear_tp = clear_fn = 0  # labelled kinds of runs labelled unhealthy (not edge)
    for case, out in zip(cases, outcomes):
        if out.failed:
            unreadable += 1
        matched_pred: set[str] = set()
        ok = True
        for kind, onset in case.kinds.items():
            hit = _found(kind, out.predicted)
            if case.label == "unhealthy":
                clear_tp += hit is not None
                clear_fn += hit is None
            if hit is None:
                fn[kind] += 1
                ok = False
                continue
            tp[kind] += 1
            matched_pred.add(hit)
            start = out.predicted[hit]
            # the delay means something only where the label's onset is on the log's own axis
            if onset is not None and start is not None and case.first <= onset <= case.first + case.span:
                delays[kind].append((start - onset) / max(case.span, 1e-12))
        for kind in out.predicted:
            if kind not in matched_pred:
                fp[kind] += 1
                ok = False
        passed += ok and not out.failed
        if case.label in ("healthy", "edge") and out.errors:
            healthy_errors += 1
    kinds = sorted(set(tp) | set(fp) | set(fn))
    per = {}
    for k in kinds:
        p = tp[k] / (tp[k] + fp[k]) if tp[k] + fp[k] else float("nan")
        r = tp[k] / (tp[k] + fn[k]) if tp[k] + fn[k] else float("nan")
        d = float(np.median(delays[k])) if delays[k] else float("nan")
        per[k] = (tp[k], fp[k], fn[k], p, r, d)
    TP, FP, FN = sum(tp.values()), sum(fp.values()), sum(fn.values())
    return {
        "per": per, "n": len(cases), "passed": passed, "healthy_errors": healthy_errors, "unreadable": unreadable,
        "precision": TP / (TP + FP) if TP + FP else float("nan"),
        "recall": TP / (TP + FN) if TP + FN else float("nan"),
        "clear_recall": clear_tp / (clear_tp + clear_fn) if clear_tp + clear_fn else float("nan"),
        "edge_kinds": sum(len(c.kinds) for c in cases if c.label == "edge"),
        "healthy": sum(c.label in ("healthy", "edge") for c in cases),
    }


def _table(name: str, s: dict) -> str:
    lines = [f"### {name}: {s['n']} logs ({s['healthy']} healthy/edge)",
             f"precision {s['precision']:.2f}  recall {s['recall']:.2f}  cases passed {s['passed']}/{s['n']}  "
             f"healthy/edge runs with an error finding {s['healthy_errors']}  unreadable {s['unreadable']}",
             f"recall on runs labelled unhealthy (edge runs' {s['edge_kinds']} leaned-to kinds left out) {s['clear_recall']:.2f}",
             "| kind | TP | FP | FN | precision | recall | median delay (share of run) |", "|---|---|---|---|---|---|---|"]
    for k, (tp, fp, fn, p, r, d) in s["per"].items():
        lines.append(f"| {k} | {tp} | {fp} | {fn} | {p:.2f} | {r:.2f} | {d:+.2f} |")
    return "\n".join(lines)


def dump_line(case: Case, ours: Outcome, naive: Outcome) -> str:
    """One log's measurement as a JSON line: what it was labelled, and what lrdoctor and the naive
    baseline reported (kind -> start step of each warning or error, the kinds at error, and why
    the log was refused, if it was). Enough to score the log again (:func:`score`) without running
    anything, and to compare two commits' measurements log for log."""
    def side(o: Outcome) -> dict:
        return {"predicted": o.predicted, "errors": sorted(o.errors), "failed": o.failed, "broken": o.broken}

    return json.dumps({"slice": case.slice, "id": case.id, "file": str(case.file), "label": case.label,
                       "kinds": case.kinds, "config": case.config, "span": case.span, "first": case.first,
                       "lrdoctor": side(ours), "naive": side(naive)}, default=float)


def measured_commit() -> str:
    """The commit of the lrdoctor being measured: that of the git checkout the imported package lives
    in (a worktree at an older commit measures that commit), with ``-dirty`` when its source has
    uncommitted changes (the figures are then no commit's); ``unknown`` outside git."""
    src = Path(lrdoctor.__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30)
        dirty = subprocess.run(["git", "-C", str(src), "status", "--porcelain", "--", "."], capture_output=True,
                               text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")


def ledger_line(case: Case, ours: Outcome, naive: Outcome, commit: str, here: Path) -> str:
    """A log's :func:`dump_line` as the ledger keeps it: its file relative to the logs folder
    ``here`` (the ledger outlives any checkout's absolute paths) and the commit measured."""
    d = json.loads(dump_line(case, ours, naive))
    try:
        d["file"] = Path(case.file).resolve().relative_to(here.resolve()).as_posix()
    except ValueError:
        d["file"] = str(case.file)
    d["measured_at"] = commit
    return json.dumps(d)


class LedgerError(ValueError):
    """A ledger that cannot be read: the message names the file and the line."""


def read_ledger(path: Path) -> list[dict]:
    """The ledger's lines, each a dict with the :func:`ledger_line` keys; an absent file is an empty
    ledger. :class:`LedgerError` names the line that is not such a JSON object."""
    if not path.exists():
        return []
    rows = []
    for n, text in enumerate(path.read_text().splitlines(), 1):
        if not text.strip():
            continue
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LedgerError(f"{path}:{n}: not JSON ({exc.msg})") from None
        missing = [k for k in ("slice", "id", "label", "kinds", "lrdoctor", "naive", "measured_at") if k not in d] \
            if isinstance(d, dict) else ["a JSON object"]
        if missing:
            raise LedgerError(f"{path}:{n}: no {missing[0]!r} (a line of --measure SLICE --ledger)")
        rows.append(d)
    return rows


def ledger_outcomes(rows: list[dict]) -> tuple[list[Case], list[Outcome], list[Outcome]]:
    """The cases and both tools' outcomes of ledger lines, ready for :func:`score`."""
    def side(d: dict) -> Outcome:
        return Outcome(dict(d.get("predicted") or {}), set(d.get("errors") or ()), d.get("failed") or "",
                       list(d.get("broken") or ()))

    cases = [Case(r["id"], Path(r.get("file", "")), r["slice"], r["label"], dict(r["kinds"]), dict(r.get("config") or {}),
                  float(r.get("span", 1.0)), float(r.get("first", 0.0))) for r in rows]
    return cases, [side(r["lrdoctor"]) for r in rows], [side(r["naive"]) for r in rows]


def print_blind(rows: list[dict], path: Path) -> None:
    """The ledger's figures: per commit measured (in the order first measured) and in all."""
    print(f"blind ledger {path}: {len(rows)} logs in {len({r['slice'] for r in rows})} slices, "
          "each as lrdoctor first met it\n")
    for commit in dict.fromkeys(r["measured_at"] for r in rows):
        part = [r for r in rows if r["measured_at"] == commit]
        cases, ours, naive = ledger_outcomes(part)
        n = len({r["slice"] for r in part})
        print(_table(f"lrdoctor, blind at {commit[:12]} ({n} slices)", score(cases, ours)), "\n")
        print(_table(f"naive baseline, blind at {commit[:12]} ({n} slices)", score(cases, naive)), "\n")
    cases, ours, naive = ledger_outcomes(rows)
    print(_table("lrdoctor, blind, all", score(cases, ours)), "\n")
    print(_table("naive baseline, blind, all", score(cases, naive)), "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--details", action="store_true", help="per-log lines (of --slice; tuning when all)")
    ap.add_argument("--slice", choices=(*SLICES, "all"), default="all")
    ap.add_argument("--exclude", action="append", default=[], choices=SLICES,
                    help="leave a slice out (a blind slice while the others are being studied)")
    ap.add_argument("--unshipped", type=Path, default=os.environ.get(UNSHIPPED_ENV) or None, metavar="DIR",
                    help="folder holding the logs marked 'shipped: false' (not redistributable) at their "
                         f"manifest paths; default ${UNSHIPPED_ENV}; without it they are skipped")
    ap.add_argument("--measure", action="append", default=[], metavar="SLICE",
                    help="measure only this slice (repeatable), registered or not: a new blind slice's one measurement")
    ap.add_argument("--dump", type=Path, metavar="PATH", help="write one JSON line per log: its label and both tools' findings")
    ap.add_argument("--logs", type=Path, default=HERE, metavar="DIR",
                    help="the folder of manifest_*.yaml and logs (default: bench/detection_logs)")
    ap.add_argument("--ledger", type=Path, nargs="?", const=LEDGER, metavar="PATH",
                    help="with --measure: append the measurement to the blind ledger (default "
                         "bench/blind_ledger.jsonl); a slice already there is refused")
    ap.add_argument("--blind", type=Path, nargs="?", const=LEDGER, metavar="PATH",
                    help="print the blind ledger's figures (default bench/blind_ledger.jsonl) and exit")
    args = ap.parse_args(argv)
    ledger = args.blind if args.blind is not None else args.ledger
    try:
        rows = read_ledger(ledger) if ledger is not None else []
    except LedgerError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.blind is not None:
        if not rows:
            print(f"--blind {args.blind}: no ledger lines (measure a slice with --measure SLICE --ledger)", file=sys.stderr)
            return 2
        print_blind(rows, args.blind)
        return 0
    if args.ledger is not None:
        if not args.measure:
            print("--ledger keeps a blind measurement: name the new slice with --measure SLICE", file=sys.stderr)
            return 2
        seen = {r["slice"]: r["measured_at"] for r in rows}
        again = [s for s in args.measure if s in seen]
        if again:
            print(f"--measure {again[0]}: already in {args.ledger}, measured blind at {seen[again[0]][:12]}; "
                  "a slice is measured blind once", file=sys.stderr)
            return 2
    for flag, folder in (("--unshipped", args.unshipped), ("--logs", args.logs)):
        if folder is not None and not folder.is_dir():
            print(f"{flag} {folder}: not a folder", file=sys.stderr)
            return 2
    missing = [s for s in args.measure if not (args.logs / f"manifest_{s}.yaml").is_file()]
    if missing:
        print(f"--measure {missing[0]}: no manifest_{missing[0]}.yaml in {args.logs}", file=sys.stderr)
        return 2
    exclude = tuple(args.exclude) + (tuple(s for s in SLICES if s != args.slice) if args.slice != "all" else ())
    loaded = load_cases(exclude, args.unshipped, only=tuple(args.measure), here=args.logs)
    cases = loaded.cases
    t0 = time.perf_counter()
    ours = [run_lrdoctor(c) for c in cases]
    t1 = time.perf_counter()
    naive = [run_naive(c) for c in cases]
    skipped = sum(loaded.unshipped.values())
    print(f"{len(cases)} logs, lrdoctor {t1 - t0:.1f} s; {skipped} skipped for their licence "
          f"(shipped: false{'' if args.unshipped else '; --unshipped DIR measures them'})\n")
    if args.dump is not None:
        args.dump.write_text("".join(dump_line(c, o, n) + "\n" for c, o, n in zip(cases, ours, naive)))
    if args.ledger is not None:
        commit = measured_commit()
        with args.ledger.open("a") as fh:
            fh.write("".join(ledger_line(c, o, n, commit, args.logs) + "\n" for c, o, n in zip(cases, ours, naive)))
        print(f"blind ledger {args.ledger}: {len(cases)} lines appended, measured at {commit[:12]}\n")
    for sl in tuple(dict.fromkeys(args.measure)) or SLICES:
        idx = [i for i, c in enumerate(cases) if c.slice == sl]
        if loaded.unshipped.get(sl):
            print(f"{sl}: {loaded.unshipped[sl]} logs skipped for their licence (shipped: false)")
        if not idx:
            continue
        sub = [cases[i] for i in idx]
        print(_table(f"lrdoctor, {sl}", score(sub, [ours[i] for i in idx])), "\n")
        print(_table(f"naive baseline, {sl}", score(sub, [naive[i] for i in idx])), "\n")
    print(_table("lrdoctor, all", score(cases, ours)), "\n")
    print(_table("naive baseline, all", score(cases, naive)), "\n")
    broken = [(c, o) for c, o in zip(cases, ours) if o.broken]
    print(f"checks that raised (reported as skipped): {sum(len(o.broken) for _, o in broken)} on {len(broken)} logs")
    for c, o in broken:
        print(f"  {c.slice}/{c.id}: {', '.join(o.broken)}")
    if args.details:
        show = args.slice if args.slice != "all" else "tuning"
        for c, o in zip(cases, ours):
            if c.slice != show:
                continue
            want = ",".join(c.kinds) or "-"
            got = ",".join(f"{k}{'!' if k in o.errors else ''}" for k in o.predicted) or "-"
            mark = "ok " if set(c.kinds) == {k for k in c.kinds if _found(k, o.predicted)} and all(
                any(k in EQUIVALENT.get(w, {w}) for w in c.kinds) for k in o.predicted) else "BAD"
            print(f"{mark} {c.id:48s} {c.label:9s} want {want:30s} got {got} {o.failed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
